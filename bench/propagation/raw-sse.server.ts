/*
 * The raw SSE baseline: a bare node:http server that keeps every stream in a Set and, on
 * POST /publish?revision=N, answers, then writes one frame (serialised once) to every stream.
 * Same frame shape and payload as the gateway's patches; nothing else (no auth, no framework).
 */
import { createServer, type ServerResponse } from 'node:http';
import { ready, serveMeasurements, wallNow, type FanoutTiming } from './bench-process';

const template = JSON.parse(process.env.BENCH_PAYLOAD ?? '{}') as Record<string, unknown>;
const streams = new Set<ServerResponse>();
const timeline: FanoutTiming[] = [];
let frames = 0;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://raw');
  if (req.method === 'GET' && url.pathname === '/stream') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    res.socket?.setNoDelay(true);
    res.write('retry: 2000\n\nevent: hello\ndata: {}\n\n');
    streams.add(res);
    res.on('close', () => streams.delete(res));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/publish') {
    const revision = Number(url.searchParams.get('revision'));
    const receivedAt = wallNow();
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    setImmediate(() => {
      const fanoutStart = wallNow();
      const frame = `id: ${revision}\nevent: patch\ndata: ${JSON.stringify({ ...template, revision })}\n\n`;
      for (const s of streams) s.write(frame);
      frames += streams.size;
      timeline.push({ revision, receivedAt, fanoutStart, fanoutEnd: wallNow() });
    });
    return;
  }
  res.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  ready(address.port);
});

serveMeasurements(
  () => ({ connections: streams.size, frames, timeline: timeline.splice(0) }),
  async () => {
    for (const s of streams) s.destroy();
    server.close();
  },
);
