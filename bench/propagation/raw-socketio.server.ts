/*
 * The raw socket.io baseline: a bare socket.io server (namespace /sdk, default options as the
 * gateway's, no auth) whose sockets join one room; POST /publish?revision=N answers, then
 * broadcasts one `patch` to the room (socket.io encodes a broadcast once for the whole room).
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { ready, serveMeasurements, wallNow, type FanoutTiming } from './bench-process';

const template = JSON.parse(process.env.BENCH_PAYLOAD ?? '{}') as Record<string, unknown>;
const timeline: FanoutTiming[] = [];
let published = 0;

const http = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://raw');
  if (req.method === 'POST' && url.pathname === '/publish') {
    const revision = Number(url.searchParams.get('revision'));
    const receivedAt = wallNow();
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    setImmediate(() => {
      const fanoutStart = wallNow();
      nsp.to('env').emit('patch', { ...template, revision });
      published += nsp.adapter.rooms.get('env')?.size ?? 0;
      timeline.push({ revision, receivedAt, fanoutStart, fanoutEnd: wallNow() });
    });
    return;
  }
  // Everything else (the engine.io path) is socket.io's.
  if (!url.pathname.startsWith('/socket.io')) res.writeHead(404).end();
});
http.keepAliveTimeout = 60_000;
const io = new Server(http, { serveClient: false, cors: { origin: true }, maxHttpBufferSize: 64 * 1024 });
const nsp = io.of('/sdk');
nsp.on('connection', (socket) => {
  void socket.join('env');
  socket.emit('hello', {});
});

http.listen(0, '127.0.0.1', () => {
  const address = http.address() as { port: number };
  ready(address.port);
});

serveMeasurements(
  () => ({ connections: nsp.sockets.size, messages: published, timeline: timeline.splice(0) }),
  async () => {
    io.disconnectSockets(true);
    await new Promise<void>((r) => void io.close(() => r()));
  },
);
