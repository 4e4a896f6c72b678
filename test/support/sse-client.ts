/** One server-sent event as a client sees it. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseClient {
  status: number;
  headers: Headers;
  events: SseEvent[];
  comments: number;
  /** Resolves with the first event (from `from` on) that matches, or rejects after `timeoutMs`. */
  next(match?: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** A minimal SSE client over fetch (what the SDK will do), for tests. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let comments = 0;
  let endResolve!: () => void;
  const ended = new Promise<void>((r) => (endResolve = r));
  const client: SseClient = {
    status: res.status,
    headers: res.headers,
    events,
    get comments() {
      return comments;
    },
    next(match = () => true, timeoutMs = 5000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.slice(from).find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching SSE event within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => `${e.event}#${e.id}`))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    ended,
    close: () => controller.abort(),
  };
  if (!res.ok || !res.body) {
    endResolve();
    return client;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          let any = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              comments++;
              continue;
            }
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'id') e.id = value;
            else if (field === 'event') e.event = value;
            else if (field === 'data') data.push(value);
            else continue;
            any = true;
          }
          if (!any || !data.length) continue;
          e.data = data.join('\n');
          events.push(e);
          for (const w of [...waiters]) w();
        }
      }
    } catch {
      // aborted or reset
    } finally {
      endResolve();
    }
  })();
  return client;
}
