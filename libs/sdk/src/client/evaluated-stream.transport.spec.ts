import type { SseMessage } from '../sse-parser';
import { EvaluatedStreamHttpError, FetchEvaluatedStreamTransport, base64url } from './evaluated-stream.transport';

interface Call {
  url: string;
  init: RequestInit;
}

/** A `fetch` that records its calls and answers with the given responses, in order. */
function fakeFetch(responses: Array<() => Response>): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const impl = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
    calls.push({ url: String(input), init: init ?? {} });
    const next = responses.shift();
    if (!next) throw new TypeError('fetch failed');
    return next();
  };
  return { fetch: impl as typeof fetch, calls };
}

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

describe('FetchEvaluatedStreamTransport', () => {
  it('asks for the evaluated stream of the context with the key in a header, and parses events across chunks', async () => {
    const { fetch, calls } = fakeFetch([
      () => new Response(streamOf(['retry: 500\n\nid: 4\nevent: snap', 'shot\ndata: {"v":1,"revision":4,"flags":{}}\n\n: ping\n\n', 'id: 5\r\nevent: patch\r\ndata: {"v":1}\r\n\r\n']), { status: 200 }),
    ]);
    const t = new FetchEvaluatedStreamTransport({ baseUrl: 'https://gw.test/', sdkKey: 'fs_client_k', fetch });
    const messages: SseMessage[] = [];
    let opened = 0;
    const context = { targetingKey: 'ü1', plan: 'pro' };
    await t.open({ context, lastEventId: '3', signal: new AbortController().signal, onOpen: () => opened++, onMessage: (m) => messages.push(m) });
    expect(opened).toBe(1);
    const url = new URL(calls[0].url);
    expect(url.origin + url.pathname).toBe('https://gw.test/sdk/v1/stream/evaluated');
    expect(JSON.parse(Buffer.from(url.searchParams.get('context')!, 'base64url').toString('utf8'))).toEqual(context);
    expect(calls[0].init.headers).toEqual({ Accept: 'text/event-stream', Authorization: 'Bearer fs_client_k', 'Last-Event-ID': '3' });
    expect(messages).toEqual([
      { id: '4', event: 'snapshot', data: '{"v":1,"revision":4,"flags":{}}' },
      { id: '5', event: 'patch', data: '{"v":1}' },
    ]);
  });

  it('fails with the status and the gateway\'s message', async () => {
    const { fetch } = fakeFetch([
      () => new Response(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'missing or invalid SDK key' } }), { status: 401 }),
      () => new Response('<html>bad gateway</html>', { status: 502 }),
    ]);
    const t = new FetchEvaluatedStreamTransport({ baseUrl: 'https://gw.test', sdkKey: 'fs_client_k', fetch });
    const options = { context: {}, signal: new AbortController().signal, onOpen: () => undefined, onMessage: () => undefined };
    const first = t.open(options);
    await expect(first).rejects.toBeInstanceOf(EvaluatedStreamHttpError);
    await expect(first).rejects.toMatchObject({ status: 401, message: 'gateway answered 401: missing or invalid SDK key' });
    await expect(t.open(options)).rejects.toMatchObject({ status: 502, message: 'gateway answered 502' });
  });

  it('acknowledges a revision with a POST, and never rejects', async () => {
    const { fetch, calls } = fakeFetch([() => new Response(null, { status: 204 })]);
    const t = new FetchEvaluatedStreamTransport({ baseUrl: 'https://gw.test', sdkKey: 'fs_client_k', fetch });
    await t.ack(42);
    expect(calls[0].url).toBe('https://gw.test/sdk/v1/ack');
    expect(calls[0].init).toMatchObject({ method: 'POST', body: '{"revision":42}', headers: { Authorization: 'Bearer fs_client_k', 'Content-Type': 'application/json' } });
    await expect(t.ack(43)).resolves.toBeUndefined();
    expect(calls).toHaveLength(2);
  });

  it('encodes base64url like Node does, for any text', () => {
    for (const text of ['', 'a', 'ab', 'abc', '{"k":"ü€😀"}', '???>>>', 'x'.repeat(1000)]) {
      expect(base64url(text)).toBe(Buffer.from(text, 'utf8').toString('base64url'));
    }
  });
});
