/*
 * A client process of the propagation benchmark: opens the connections it is told to (SSE over
 * node:http, or socket.io-client over websocket), reads just enough of each message to know its
 * revision, and reports per revision how many of its connections received it, the first and the
 * last arrival (wall clock, shared by every process on the machine).
 */
import { request, type ClientRequest as HttpRequest } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { wallNow, type ClientMessage, type ClientRequest, type ClientTarget } from './bench-process';

interface Arrivals {
  count: number;
  first: number;
  last: number;
  reported: boolean;
  since: number;
}

interface Stream {
  close(): void;
}

/** The connections to one server, and what they received. */
interface Group {
  name: string;
  streams: Set<Stream>;
  arrivals: Map<number, Arrivals>;
  lastRevision: number;
}

const groups = new Map<string, Group>();

function group(name: string): Group {
  let g = groups.get(name);
  if (!g) {
    g = { name, streams: new Set(), arrivals: new Map(), lastRevision: 0 };
    groups.set(name, g);
  }
  return g;
}

function send(msg: ClientMessage): void {
  process.send?.(msg);
}

function arrived(g: Group, revision: number, t: number): void {
  let a = g.arrivals.get(revision);
  if (!a) {
    a = { count: 0, first: t, last: t, reported: false, since: Date.now() };
    g.arrivals.set(revision, a);
  }
  a.count++;
  if (t < a.first) a.first = t;
  if (t > a.last) a.last = t;
  if (revision > g.lastRevision) g.lastRevision = revision;
  if (a.count >= g.streams.size) report(g, revision, a);
}

function report(g: Group, revision: number, a: Arrivals): void {
  a.reported = a.count >= g.streams.size;
  send({ type: 'arrivals', group: g.name, revision, count: a.count, first: a.first, last: a.last, open: g.streams.size });
}

// Revisions some connections have not received yet: report what we have every second.
setInterval(() => {
  const now = Date.now();
  for (const g of groups.values()) {
    for (const [revision, a] of g.arrivals) {
      if (!a.reported && now - a.since > 1000) report(g, revision, a);
      if (now - a.since > 120_000) g.arrivals.delete(revision);
    }
  }
}, 1000).unref();

function dropped(g: Group, stream: Stream, reason: string): void {
  if (!g.streams.delete(stream)) return;
  send({ type: 'dropped', group: g.name, open: g.streams.size, reason });
}

function opened(g: Group, stream: Stream, revision: number): void {
  if (revision > g.lastRevision) g.lastRevision = revision;
  g.streams.add(stream);
}

/** One SSE stream; resolves once the first named event (snapshot / hello) has arrived. */
function openSse(target: ClientTarget): Promise<Stream> {
  const g = group(target.group);
  return new Promise((resolve, reject) => {
    let left = '';
    let ready = false;
    let req: HttpRequest | undefined = undefined;
    const stream: Stream = { close: () => req?.destroy() };
    const fail = (reason: string) => {
      if (!ready) reject(new Error(reason));
      else dropped(g, stream, reason);
    };
    const frame = (s: string, start: number, t: number) => {
      let at = start;
      let revision = -1;
      if (s.startsWith('id: ', at)) {
        const nl = s.indexOf('\n', at);
        revision = Number(s.slice(at + 4, nl));
        at = nl + 1;
      }
      if (!s.startsWith('event: ', at)) return;
      if (s.startsWith('event: patch', at)) {
        if (ready) arrived(g, revision, t);
        return;
      }
      if (!ready) {
        ready = true;
        opened(g, stream, revision);
        resolve(stream);
      }
    };
    req = request(
      target.url,
      { agent: false, headers: { Accept: 'text/event-stream', ...(target.key ? { Authorization: `Bearer ${target.key}` } : {}) } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          fail(`status ${res.statusCode}`);
          return;
        }
        res.on('data', (chunk: Buffer) => {
          const t = wallNow();
          const s = left + chunk.toString('latin1');
          let start = 0;
          let cut: number;
          while ((cut = s.indexOf('\n\n', start)) >= 0) {
            frame(s, start, t);
            start = cut + 2;
          }
          left = start === s.length ? '' : s.slice(start);
        });
        res.on('close', () => fail('stream closed'));
      },
    );
    req.on('error', (e) => fail(e.message));
    req.setTimeout(30_000, () => {
      if (!ready) req?.destroy(new Error('timeout'));
    });
    req.end();
  });
}

/** One socket.io connection; resolves on its first `snapshot` (gateway) or `hello` (raw server). */
function openSocket(target: ClientTarget): Promise<Stream> {
  const g = group(target.group);
  return new Promise((resolve, reject) => {
    let ready = false;
    const socket: Socket = io(target.url, {
      transports: ['websocket'],
      auth: target.key ? { key: target.key } : {},
      reconnection: false,
      forceNew: true,
      timeout: 30_000,
    });
    const stream: Stream = { close: () => socket.disconnect() };
    const onReady = (revision: number) => {
      if (ready) return;
      ready = true;
      opened(g, stream, revision);
      resolve(stream);
    };
    socket.on('snapshot', (m: { revision: number }) => onReady(m.revision));
    socket.on('hello', () => onReady(0));
    socket.on('patch', (m: { revision: number }) => {
      const t = wallNow();
      if (ready) arrived(g, m.revision, t);
    });
    socket.on('failure', (f: unknown) => {
      if (!ready) reject(new Error(`failure ${JSON.stringify(f)}`));
    });
    socket.on('connect_error', (e) => {
      if (!ready) reject(e);
    });
    socket.on('disconnect', (reason) => {
      if (!ready) reject(new Error(reason));
      else dropped(g, stream, reason);
    });
  });
}

async function openMany(target: ClientTarget, total: number, concurrency: number): Promise<void> {
  const started = Date.now();
  let failed = 0;
  let retries = 0;
  const g = group(target.group);
  let toOpen = Math.max(0, total - g.streams.size);
  const worker = async () => {
    while (toOpen > 0) {
      toOpen--;
      for (let attempt = 0; ; attempt++) {
        try {
          await (target.transport === 'sse' ? openSse(target) : openSocket(target));
          break;
        } catch {
          if (attempt >= 4) {
            failed++;
            break;
          }
          retries++;
          await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  send({ type: 'opened', group: g.name, open: g.streams.size, failed, retries, revision: g.lastRevision, ms: Date.now() - started, rssBytes: process.memoryUsage().rss });
}

process.on('message', (raw: unknown) => {
  const req = raw as ClientRequest;
  switch (req.cmd) {
    case 'open':
      void openMany(req.target, req.total, req.concurrency);
      break;
    case 'clock':
      send({ type: 'clock', now: wallNow() });
      break;
    case 'close':
      for (const g of groups.values()) {
        for (const s of [...g.streams]) {
          g.streams.delete(s);
          s.close();
        }
      }
      setTimeout(() => process.exit(0), 200);
      break;
  }
});
process.on('disconnect', () => process.exit(0));
