/** One server-sent event. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/**
 * An incremental parser of the `text/event-stream` format (WHATWG HTML, "server-sent events"):
 * feed it text as it arrives, get whole events back. Comments (heartbeats) are counted, `retry:`
 * is remembered.
 */
export class SseParser {
  /** Heartbeat comments seen so far. */
  comments = 0;
  /** The last `retry:` hint, in milliseconds. */
  retryMs: number | undefined;
  private buffer = '';

  push(text: string): SseMessage[] {
    this.buffer += text.replace(/\r\n?/g, '\n');
    const out: SseMessage[] = [];
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      const message = this.parseBlock(block);
      if (message) out.push(message);
    }
    return out;
  }

  private parseBlock(block: string): SseMessage | null {
    const data: string[] = [];
    const message: SseMessage = { event: 'message', data: '' };
    for (const line of block.split('\n')) {
      if (line === '') continue;
      if (line.startsWith(':')) {
        this.comments++;
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      switch (field) {
        case 'data':
          data.push(value);
          break;
        case 'event':
          message.event = value;
          break;
        case 'id':
          if (!value.includes('\u0000')) message.id = value;
          break;
        case 'retry':
          if (/^\d+$/.test(value)) this.retryMs = Number(value);
          break;
        default:
          break;
      }
    }
    if (!data.length) return null;
    message.data = data.join('\n');
    return message;
  }
}
