import { SseParser, type SseMessage } from './sse-parser';

/**
 * Opens an SSE stream over `fetch` with the SDK key in `Authorization` (which `EventSource` cannot
 * send) and resumes after `lastEventId`. On an HTTP error it throws `toError(status, message)`,
 * the message carrying the gateway's own error text when the body has one.
 */
export async function fetchEventStream(
  fetchImpl: typeof fetch,
  url: string,
  sdkKey: string,
  options: { lastEventId?: string; signal: AbortSignal },
  toError: (status: number, message: string) => Error,
): Promise<ReadableStream<Uint8Array>> {
  const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${sdkKey}` };
  if (options.lastEventId !== undefined) headers['Last-Event-ID'] = options.lastEventId;
  const res = await fetchImpl(url, { headers, signal: options.signal });
  if (!res.ok || !res.body) {
    let message = `gateway answered ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { message?: string } };
      if (body.error?.message) message = `${message}: ${body.error.message}`;
    } catch {
      // not JSON
    }
    throw toError(res.status, message);
  }
  return res.body;
}

/**
 * Reads SSE messages from a streaming body until it ends. If `onMessage` throws, the body is
 * cancelled (a failed stream must not keep its socket) and the error propagates.
 */
export async function readEventStream(body: ReadableStream<Uint8Array>, onMessage: (message: SseMessage) => void): Promise<void> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const m of parser.push(decoder.decode(value, { stream: true }))) onMessage(m);
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  } finally {
    reader.releaseLock();
  }
}

/** Posts an acknowledgement (best effort: never rejects) and drains the empty answer so the socket is reused. */
export async function postAck(fetchImpl: typeof fetch, base: string, sdkKey: string, revision: number, signal?: AbortSignal): Promise<void> {
  try {
    const res = await fetchImpl(`${base}/sdk/v1/ack`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sdkKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ revision }),
      signal,
    });
    await res.body?.cancel().catch(() => undefined);
  } catch {
    // receipts are best effort
  }
}
