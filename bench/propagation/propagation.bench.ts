/*
 * Propagation benchmark: how long an admin write takes to reach every connected SDK, over SSE and
 * socket.io, at 1,000 / 5,000 / 10,000 loopback connections, side by side with a raw SSE server
 * and a raw socket.io server broadcasting the same payload to the same clients.
 *
 * Processes (each measured on its own):
 *   this one          orchestrates: seeds through the admin API, triggers writes, collects arrivals
 *   admin             the real admin (createAdminApp + change relay), on a fresh database
 *   gateway           the real gateway (GatewayRuntime + GatewayModule), fresh per transport
 *   raw-sse / raw-sio the baselines, each in a process of its own
 *   clients (x K)     open the connections, report per revision the first and last arrival
 *
 * Latency of one write to a client = the client's arrival time - the time the write's HTTP
 * response (admin toggle, or the raw server's /publish) arrived here; both on the wall clock
 * (performance.timeOrigin + performance.now()), which all processes on one machine share.
 *
 *   npm run bench:propagation [-- --sizes 1000,5000,10000 --writes 20 --clients 2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { ensureDatabase, migrate } from '@flagstream/persistence';
import { wallNow, type ClientMessage, type ClientRequest, type ClientTarget, type CpuSample, type FanoutTiming, type MemorySample, type ServerReady, type ServerReply } from './bench-process';

// ---------------------------------------------------------------------------------------------
// Options

const TARGETS = ['raw-sse', 'flagstream-sse', 'raw-socketio', 'flagstream-socketio'] as const;
type TargetName = (typeof TARGETS)[number];
const TRANSPORT: Record<TargetName, 'sse' | 'socket.io'> = { 'raw-sse': 'sse', 'flagstream-sse': 'sse', 'raw-socketio': 'socket.io', 'flagstream-socketio': 'socket.io' };

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const OPTIONS = {
  sizes: option('sizes', '1000,5000,10000').split(',').map(Number),
  writes: Number(option('writes', '20')),
  warmup: Number(option('warmup', '2')),
  clientProcesses: Number(option('clients', '2')),
  concurrency: Number(option('concurrency', '100')),
  gapMs: Number(option('gap-ms', '150')),
  targets: option('targets', TARGETS.join(',')).split(',') as TargetName[],
  deliveryTimeoutMs: Number(option('timeout-ms', '30000')),
  output: option('out', join(process.cwd(), 'bench', 'results', 'propagation.json')),
};
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TARGET_RATIO = 1.5;

// ---------------------------------------------------------------------------------------------
// Child processes

/** Every child gets as many file descriptors as this machine allows (10,000 sockets each). */
function spawnNode(script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  const baseUrl = process.env.TS_NODE_BASEURL ?? resolve(__dirname, '..', '..');
  const args = [...nodeArgs, '-r', 'tsconfig-paths/register', join(__dirname, script)];
  return spawn('bash', ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, TS_NODE_BASEURL: baseUrl, ...env },
  });
}

const children = new Set<ChildProcess>();

class ServerProcess {
  readonly proc: ChildProcess;
  readonly ready: Promise<ServerReady>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(
    readonly name: string,
    script: string,
    env: Record<string, string>,
    nodeArgs: string[] = [],
  ) {
    this.proc = spawnNode(script, env, ['--expose-gc', ...nodeArgs]);
    children.add(this.proc);
    this.ready = new Promise((resolveReady, rejectReady) => {
      this.proc.on('message', (raw: unknown) => {
        const msg = raw as ServerReady | ServerReply;
        if ('type' in msg && msg.type === 'ready') return resolveReady(msg);
        const r = msg as ServerReply;
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        if (r.ok) p.resolve(r.value);
        else p.reject(new Error(`${name}: ${r.error}`));
      });
      this.proc.on('exit', (code) => {
        children.delete(this.proc);
        const e = new Error(`${name} exited with ${code}`);
        rejectReady(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
    });
  }

  ask<T>(cmd: 'memory' | 'cpu' | 'stats' | 'stop'): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((res, rej) => {
      this.pending.set(id, { resolve: res as (v: unknown) => void, reject: rej });
      this.proc.send({ id, cmd });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    await Promise.race([this.ask('stop').catch(() => undefined), new Promise((r) => setTimeout(r, 10_000))]);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

interface RevisionArrivals {
  count: number;
  first: number;
  last: number;
  open: number;
}

class ClientProcess {
  readonly proc: ChildProcess;
  /** Per group (server), per revision: the latest report. */
  readonly arrivals = new Map<string, Map<number, RevisionArrivals>>();
  readonly open = new Map<string, number>();
  readonly dropped = new Map<string, number>();
  private onMessage: Array<(msg: ClientMessage) => void> = [];

  constructor(readonly index: number) {
    this.proc = spawnNode('stream.clients.js', {});
    children.add(this.proc);
    this.proc.on('exit', () => children.delete(this.proc));
    this.proc.on('message', (raw: unknown) => {
      const msg = raw as ClientMessage;
      if (msg.type === 'arrivals') {
        let byRevision = this.arrivals.get(msg.group);
        if (!byRevision) this.arrivals.set(msg.group, (byRevision = new Map()));
        byRevision.set(msg.revision, { count: msg.count, first: msg.first, last: msg.last, open: msg.open });
        this.open.set(msg.group, msg.open);
      }
      if (msg.type === 'dropped') {
        this.dropped.set(msg.group, (this.dropped.get(msg.group) ?? 0) + 1);
        this.open.set(msg.group, msg.open);
      }
      if (msg.type === 'opened') this.open.set(msg.group, msg.open);
      for (const h of [...this.onMessage]) h(msg);
    });
  }

  send(req: ClientRequest): void {
    this.proc.send(req);
  }

  /** Resolves with the next message that `match` accepts. */
  next<T extends ClientMessage>(match: (m: ClientMessage) => m is T, timeoutMs = 600_000): Promise<T> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.onMessage = this.onMessage.filter((h) => h !== handler);
        rej(new Error(`client ${this.index}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      const handler = (m: ClientMessage) => {
        if (!match(m)) return;
        clearTimeout(timer);
        this.onMessage = this.onMessage.filter((h) => h !== handler);
        res(m);
      };
      this.onMessage.push(handler);
    });
  }

  watch(handler: (m: ClientMessage) => void): () => void {
    this.onMessage.push(handler);
    return () => (this.onMessage = this.onMessage.filter((h) => h !== handler));
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.send({ cmd: 'close' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP (keep-alive, so a write's time is its own and not a TCP handshake's)

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

interface HttpAnswer {
  status: number;
  body: unknown;
  /** Wall-clock time at which the whole response had arrived. */
  at: number;
}

function http(method: string, url: string, body?: unknown, token?: string): Promise<HttpAnswer> {
  return new Promise((res, rej) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        agent,
        headers: {
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => {
          const at = wallNow();
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            // not JSON: keep the text
          }
          res({ status: r.statusCode ?? 0, body: parsed, at });
        });
      },
    );
    req.on('error', rej);
    req.end(payload);
  });
}

async function expectStatus(p: Promise<HttpAnswer>, status: number, what: string): Promise<HttpAnswer> {
  const a = await p;
  if (a.status !== status) throw new Error(`${what}: expected ${status}, got ${a.status} ${JSON.stringify(a.body)}`);
  return a;
}

// ---------------------------------------------------------------------------------------------
// The Flagstream side: database, admin, seed, probe

interface Seed {
  adminUrl: string;
  token: string;
  serverKey: string;
  togglePath: string;
}

const PROJECT = 'bench';
const ENV = 'live';
const FLAG = 'checkout-flow';

/** A flag whose patch is about 1 KB: a few realistic rules and a percentage default. */
function flagSettings(version: number) {
  return {
    version,
    on: true,
    offVariation: 'off',
    prerequisites: [],
    rules: [
      {
        id: 'eu-enterprise',
        description: 'enterprise customers in the EU rollout countries',
        clauses: [
          { attribute: 'country', operator: 'in', values: ['DE', 'FR', 'NL', 'BE', 'AT', 'IE', 'ES', 'IT', 'PT', 'SE', 'DK', 'FI', 'PL', 'CZ', 'LU'] },
          { attribute: 'plan', operator: 'in', values: ['enterprise', 'business'] },
        ],
        serve: { variation: 'on' },
      },
      {
        id: 'staff',
        description: 'our own staff and the beta testers',
        clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@flagstream.dev', '@beta.flagstream.dev'], caseInsensitive: true }],
        serve: { variation: 'on' },
      },
    ],
    defaultServe: { rollout: { variations: [{ variation: 'on', weight: 10000 }, { variation: 'off', weight: 90000 }] } },
  };
}

async function seed(adminUrl: string, token: string): Promise<Seed> {
  const api = `${adminUrl}/api/v1`;
  await expectStatus(http('POST', `${api}/projects`, { key: PROJECT, name: 'Bench' }, token), 201, 'create project');
  await expectStatus(http('POST', `${api}/projects/${PROJECT}/environments`, { key: ENV, name: 'Live', protected: false }, token), 201, 'create environment');
  await expectStatus(
    http('POST', `${api}/projects/${PROJECT}/flags`, { key: FLAG, name: 'New checkout flow', kind: 'boolean', description: 'The redesigned checkout, rolled out by country and plan.', tags: ['checkout', 'web'] }, token),
    201,
    'create flag',
  );
  const settingsUrl = `${api}/projects/${PROJECT}/flags/${FLAG}/environments/${ENV}`;
  const current = await expectStatus(http('GET', settingsUrl, undefined, token), 200, 'read settings');
  await expectStatus(http('PUT', settingsUrl, flagSettings((current.body as { version: number }).version), token), 200, 'put settings');
  const key = await expectStatus(http('POST', `${api}/projects/${PROJECT}/environments/${ENV}/sdk-keys`, { kind: 'server', name: 'bench' }, token), 201, 'create SDK key');
  return { adminUrl, token, serverKey: (key.body as { key: string }).key, togglePath: `${settingsUrl.slice(adminUrl.length)}/toggle` };
}

let flagOn = true;
async function toggle(s: Seed): Promise<HttpAnswer> {
  flagOn = !flagOn;
  return expectStatus(http('POST', `${s.adminUrl}${s.togglePath}`, { on: flagOn }, s.token), 200, 'toggle');
}

/** One SSE connection to the gateway and one write: the patch frame exactly as clients get it. */
async function probePatch(gatewayUrl: string, s: Seed): Promise<{ payload: string; frameBytes: number }> {
  const controller = new AbortController();
  const res = await fetch(`${gatewayUrl}/sdk/v1/stream`, { headers: { Authorization: `Bearer ${s.serverKey}` }, signal: controller.signal });
  if (res.status !== 200 || !res.body) throw new Error(`probe stream: status ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let toggled = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('probe stream ended');
      text += decoder.decode(value, { stream: true });
      if (!toggled && text.includes('event: snapshot') && text.includes('\n\n', text.indexOf('event: snapshot'))) {
        toggled = true;
        await toggle(s);
      }
      const at = text.indexOf('event: patch');
      const end = at < 0 ? -1 : text.indexOf('\n\n', at);
      if (end >= 0) {
        const start = text.lastIndexOf('id: ', at);
        const frame = text.slice(start, end + 2);
        const data = frame.slice(frame.indexOf('data: ') + 6, -2);
        return { payload: data, frameBytes: Buffer.byteLength(frame) };
      }
    }
  } finally {
    controller.abort();
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring one target

interface WriteSample {
  revision: number;
  /** The write's own round trip (request sent -> response arrived). */
  responseMs: number;
  firstMs: number;
  lastMs: number;
  received: number;
  expected: number;
  /** Wall-clock arrival of the write's response (the zero of the other times). */
  responseAt: number;
  /** The server's side, relative to responseAt: revision in hand, fan-out loop start and end. */
  server?: { committedMs?: number; receivedMs: number; fanoutStartMs: number; fanoutEndMs: number };
}

interface Stat {
  p50: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

interface SizeResult {
  connections: number;
  open: number;
  failedToOpen: number;
  openRetries: number;
  openSeconds: number;
  dropped: number;
  writes: WriteSample[];
  incompleteWrites: number;
  lastClientMs: Stat;
  firstClientMs: Stat;
  responseMs: Stat;
  /** Server fan-out loop (first write to last write into the sockets), ms. */
  fanoutMs: Stat;
  /** From the write's response to the server starting its fan-out, ms. */
  responseToFanoutMs: Stat;
  memoryConnected: MemorySample;
  memoryAfterWrites: MemorySample;
  /** Growth from the previous size (0 = the idle server) divided by the connections added. */
  memoryPerConnection: { fromConnections: number; rssBytes: number; rssBytesIdle: number; heapBytes: number; externalBytes: number };
  cpu: { serverMicros: number; messages: number; serverMicrosPerMessage: number; adminMicros?: number; microsPerMessageWithAdmin?: number; wallSeconds: number };
  clientRssBytes: number[];
  serverStats: unknown;
}

interface TargetResult {
  target: TargetName;
  transport: 'sse' | 'socket.io';
  idleMemory: MemorySample;
  sizes: Record<string, SizeResult>;
}

/** Nearest-rank percentile (p99 of 20 samples is their maximum). */
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function stat(values: number[]): Stat {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every client process has reported `revision` of `group` on all its connections (or the timeout). */
function collect(clients: ClientProcess[], group: string, revision: number, timeoutMs: number): Promise<{ complete: boolean; arrivals: RevisionArrivals[] }> {
  return new Promise((res) => {
    const got = (c: ClientProcess) => c.arrivals.get(group)?.get(revision);
    const done = () =>
      clients.every((c) => {
        const a = got(c);
        return (a && a.count >= a.open) || (c.open.get(group) ?? 0) === 0;
      });
    let finished = false;
    const finish = (complete: boolean) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const u of unwatch) u();
      res({ complete, arrivals: clients.map((c) => got(c) ?? { count: 0, first: NaN, last: NaN, open: c.open.get(group) ?? 0 }) });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const unwatch = clients.map((c) =>
      c.watch(() => {
        if (done()) finish(true);
      }),
    );
    if (done()) finish(true);
  });
}

async function clockCheck(clients: ClientProcess[]): Promise<Array<{ client: number; offsetMs: number; rttMs: number }>> {
  const out = [];
  for (const c of clients) {
    let best = { client: c.index, offsetMs: NaN, rttMs: Infinity };
    for (let i = 0; i < 5; i++) {
      const t0 = wallNow();
      const answer = c.next((m): m is Extract<ClientMessage, { type: 'clock' }> => m.type === 'clock', 5000);
      c.send({ cmd: 'clock' });
      const m = await answer;
      const t1 = wallNow();
      if (t1 - t0 < best.rttMs) best = { client: c.index, offsetMs: m.now - (t0 + t1) / 2, rttMs: t1 - t0 };
    }
    out.push(best);
  }
  return out;
}

interface Context {
  seed: Seed;
  admin: ServerProcess;
  databaseUrl: string;
  prefix: string;
  payload: string;
  clocks: Array<{ transport: string; checks: Awaited<ReturnType<typeof clockCheck>> }>;
}

/** One server under test, its clients' view of it, and how to make it send a message. */
interface Subject {
  target: TargetName;
  server: ServerProcess;
  client: ClientTarget;
  flagstream: boolean;
  revision: number;
  result: TargetResult;
  /** Per size while it runs. */
  run?: {
    opened: Array<Extract<ClientMessage, { type: 'opened' }>>;
    memoryConnected: MemorySample;
    writes: WriteSample[];
    cpu: { server: number; admin: number };
    wall: number;
  };
  previous: { connections: number; rss: number; rssIdle: number; heap: number; external: number };
}

async function startSubject(target: TargetName, ctx: Context): Promise<Subject> {
  let server: ServerProcess;
  let client: ClientTarget;
  if (target === 'raw-sse' || target === 'raw-socketio') {
    server = new ServerProcess(target, target === 'raw-sse' ? 'raw-sse.server.js' : 'raw-socketio.server.js', { BENCH_PAYLOAD: ctx.payload });
    const { port } = await server.ready;
    client =
      target === 'raw-sse' ? { group: target, transport: 'sse', url: `http://127.0.0.1:${port}/stream` } : { group: target, transport: 'socket.io', url: `http://127.0.0.1:${port}/sdk` };
  } else {
    server = startGateway(ctx);
    const { port } = await server.ready;
    client =
      target === 'flagstream-sse'
        ? { group: target, transport: 'sse', url: `http://127.0.0.1:${port}/sdk/v1/stream`, key: ctx.seed.serverKey }
        : { group: target, transport: 'socket.io', url: `http://127.0.0.1:${port}/sdk`, key: ctx.seed.serverKey };
  }
  const idle = await server.ask<MemorySample>('memory');
  return {
    target,
    server,
    client,
    flagstream: target.startsWith('flagstream'),
    revision: 0,
    result: { target, transport: TRANSPORT[target], idleMemory: idle, sizes: {} },
    previous: { connections: 0, rss: idle.rss, rssIdle: idle.rss, heap: idle.heapUsed, external: idle.external },
  };
}

function startGateway(ctx: Pick<Context, 'databaseUrl' | 'prefix'>): ServerProcess {
  // BENCH_GATEWAY_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to look inside the gateway.
  const nodeArgs = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return new ServerProcess('gateway', 'flagstream-gateway.server.js', { BENCH_DATABASE_URL: ctx.databaseUrl, BENCH_REDIS_URL: REDIS_URL, BENCH_PREFIX: ctx.prefix }, nodeArgs);
}

async function cpuTotal(p: ServerProcess): Promise<number> {
  const c = await p.ask<CpuSample>('cpu');
  return c.user + c.system;
}

/** One write to `subject`, timed from its response to the first and last client; CPU of the window. */
async function oneWrite(subject: Subject, clients: ClientProcess[], ctx: Context, measured: boolean): Promise<void> {
  const expected = subject.revision + 1;
  const cpu0 = measured ? await cpuTotal(subject.server) : 0;
  const admin0 = measured && subject.flagstream ? await cpuTotal(ctx.admin) : 0;
  const sent = wallNow();
  const answer = subject.flagstream ? await toggle(ctx.seed) : await expectStatus(http('POST', `${serverUrl(subject.client)}/publish?revision=${expected}`), 200, 'publish');
  const got = await collect(clients, subject.target, expected, OPTIONS.deliveryTimeoutMs);
  const done = wallNow();
  subject.revision = expected;
  if (!measured || !subject.run) return;
  subject.run.cpu.server += (await cpuTotal(subject.server)) - cpu0;
  if (subject.flagstream) subject.run.cpu.admin += (await cpuTotal(ctx.admin)) - admin0;
  subject.run.wall += done - sent;
  const reached = got.arrivals.filter((a) => a.count > 0);
  subject.run.writes.push({
    revision: expected,
    responseMs: answer.at - sent,
    firstMs: reached.length ? Math.min(...reached.map((a) => a.first)) - answer.at : NaN,
    lastMs: got.complete && reached.length ? Math.max(...reached.map((a) => a.last)) - answer.at : NaN,
    received: got.arrivals.reduce((n, a) => n + a.count, 0),
    expected: clients.reduce((n, c) => n + (c.open.get(subject.target) ?? 0), 0),
    responseAt: answer.at,
  });
}

async function openConnections(subject: Subject, clients: ClientProcess[], size: number): Promise<void> {
  const started = Date.now();
  const opened = await Promise.all(
    clients.map((c, i) => {
      const share = Math.floor(size / clients.length) + (i < size % clients.length ? 1 : 0);
      const answer = c.next((m): m is Extract<ClientMessage, { type: 'opened' }> => m.type === 'opened' && m.group === subject.target);
      c.send({ cmd: 'open', target: subject.client, total: share, concurrency: Math.max(1, Math.round(OPTIONS.concurrency / clients.length)) });
      return answer;
    }),
  );
  if (subject.flagstream) subject.revision = Math.max(subject.revision, ...opened.map((o) => o.revision));
  const open = opened.reduce((n, o) => n + o.open, 0);
  console.log(`  ${subject.target}: ${open} connections open (${((Date.now() - started) / 1000).toFixed(1)} s)${open < size ? ` - ${size - open} FAILED` : ''}`);
  subject.run = { opened, memoryConnected: undefined as unknown as MemorySample, writes: [], cpu: { server: 0, admin: 0 }, wall: 0 };
}

async function finishSize(subject: Subject, clients: ClientProcess[], size: number): Promise<SizeResult> {
  const run = subject.run!;
  const memoryAfterWrites = await subject.server.ask<MemorySample>('memory');
  const serverStats = (await subject.server.ask<{ timeline?: FanoutTiming[] }>('stats')) ?? {};
  const timeline = new Map((serverStats.timeline ?? []).map((t) => [t.revision, t]));
  delete serverStats.timeline;
  const writes = run.writes;
  for (const w of writes) {
    const t = timeline.get(w.revision);
    if (!t) continue;
    w.server = {
      ...(t.committedAt !== undefined ? { committedMs: t.committedAt - w.responseAt } : {}),
      receivedMs: t.receivedAt - w.responseAt,
      fanoutStartMs: t.fanoutStart - w.responseAt,
      fanoutEndMs: t.fanoutEnd - w.responseAt,
    };
  }
  const timed = writes.flatMap((w) => (w.server ? [w.server] : []));
  const previous = subject.previous;
  const added = size - previous.connections;
  const complete = writes.filter((w) => !Number.isNaN(w.lastMs));
  const messages = writes.reduce((n, w) => n + w.received, 0);
  const r: SizeResult = {
    connections: size,
    open: run.opened.reduce((n, o) => n + o.open, 0),
    failedToOpen: run.opened.reduce((n, o) => n + o.failed, 0),
    openRetries: run.opened.reduce((n, o) => n + o.retries, 0),
    openSeconds: run.opened.reduce((n, o) => Math.max(n, o.ms), 0) / 1000,
    dropped: clients.reduce((n, c) => n + (c.dropped.get(subject.target) ?? 0), 0),
    writes,
    incompleteWrites: writes.length - complete.length,
    lastClientMs: stat(complete.map((w) => w.lastMs)),
    firstClientMs: stat(writes.filter((w) => !Number.isNaN(w.firstMs)).map((w) => w.firstMs)),
    responseMs: stat(writes.map((w) => w.responseMs)),
    fanoutMs: stat(timed.map((t) => t.fanoutEndMs - t.fanoutStartMs)),
    responseToFanoutMs: stat(timed.map((t) => t.fanoutStartMs)),
    memoryConnected: run.memoryConnected,
    memoryAfterWrites,
    memoryPerConnection: {
      fromConnections: previous.connections,
      rssBytes: (memoryAfterWrites.rss - previous.rss) / added,
      rssBytesIdle: (run.memoryConnected.rss - previous.rssIdle) / added,
      heapBytes: (memoryAfterWrites.heapUsed - previous.heap) / added,
      externalBytes: (memoryAfterWrites.external - previous.external) / added,
    },
    cpu: {
      serverMicros: run.cpu.server,
      messages,
      serverMicrosPerMessage: run.cpu.server / messages,
      ...(subject.flagstream ? { adminMicros: run.cpu.admin, microsPerMessageWithAdmin: (run.cpu.server + run.cpu.admin) / messages } : {}),
      wallSeconds: run.wall / 1000,
    },
    clientRssBytes: run.opened.map((o) => o.rssBytes),
    serverStats,
  };
  subject.previous = { connections: size, rss: memoryAfterWrites.rss, rssIdle: run.memoryConnected.rss, heap: memoryAfterWrites.heapUsed, external: memoryAfterWrites.external };
  subject.result.sizes[String(size)] = r;
  console.log(
    `  ${subject.target} ${size}: last p50 ${fmt(r.lastClientMs.p50)} p99 ${fmt(r.lastClientMs.p99)} ms, first p50 ${fmt(r.firstClientMs.p50)} ms, ` +
      `${(r.memoryPerConnection.rssBytes / 1024).toFixed(1)} KB/conn, ${r.cpu.serverMicrosPerMessage.toFixed(2)} µs/msg` +
      `${r.incompleteWrites ? `, ${r.incompleteWrites} writes NOT delivered to every client` : ''}`,
  );
  return r;
}

/**
 * One transport: the raw server and the gateway run side by side with the same number of
 * connections from the same client processes, and their writes alternate, so that whatever else
 * this shared machine is doing falls on both alike.
 */
async function runTransport(transport: 'sse' | 'socket.io', targets: TargetName[], ctx: Context): Promise<TargetResult[]> {
  const subjects: Subject[] = [];
  const clients = Array.from({ length: OPTIONS.clientProcesses }, (_, i) => new ClientProcess(i));
  try {
    for (const t of targets) subjects.push(await startSubject(t, ctx));
    ctx.clocks.push({ transport, checks: await clockCheck(clients) });
    for (const size of OPTIONS.sizes) {
      console.log(`${transport}, ${size} connections each:`);
      for (const s of subjects) await openConnections(s, clients, size);
      await sleep(500);
      for (const s of subjects) s.run!.memoryConnected = await s.server.ask<MemorySample>('memory');
      for (let w = 0; w < OPTIONS.warmup + OPTIONS.writes; w++) {
        // Alternate which server goes first, so neither always follows the other's burst.
        const order = w % 2 === 0 ? subjects : [...subjects].reverse();
        for (const s of order) {
          await oneWrite(s, clients, ctx, w >= OPTIONS.warmup);
          await sleep(OPTIONS.gapMs);
        }
      }
      for (const s of subjects) await finishSize(s, clients, size);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    for (const s of subjects) await s.server.stop();
  }
  return subjects.map((s) => s.result);
}

function serverUrl(t: ClientTarget): string {
  const u = new URL(t.url);
  return `${u.protocol}//${u.host}`;
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits);
}

interface Comparison {
  transport: 'sse' | 'socket.io';
  connections: number;
  p99LastRatio: number;
  p50LastRatio: number;
  p50FirstRatio: number;
  p99FirstRatio: number;
  memoryPerConnectionRatio: number;
  memoryPerConnectionIdleRatio: number;
  /** JS heap growth per connection (steadier than RSS, which moves in pages and arenas). */
  heapPerConnectionRatio: number;
  cpuPerMessageRatio: number;
  targets: { p99: boolean; memory: boolean; memoryApplies: boolean };
}

function compare(results: TargetResult[]): Comparison[] {
  const out: Comparison[] = [];
  for (const [transport, raw, ours] of [
    ['sse', 'raw-sse', 'flagstream-sse'],
    ['socket.io', 'raw-socketio', 'flagstream-socketio'],
  ] as const) {
    const r = results.find((x) => x.target === raw);
    const f = results.find((x) => x.target === ours);
    if (!r || !f) continue;
    for (const size of OPTIONS.sizes) {
      const a = r.sizes[String(size)];
      const b = f.sizes[String(size)];
      if (!a || !b) continue;
      const c: Comparison = {
        transport,
        connections: size,
        p99LastRatio: b.lastClientMs.p99 / a.lastClientMs.p99,
        p50LastRatio: b.lastClientMs.p50 / a.lastClientMs.p50,
        p50FirstRatio: b.firstClientMs.p50 / a.firstClientMs.p50,
        p99FirstRatio: b.firstClientMs.p99 / a.firstClientMs.p99,
        memoryPerConnectionRatio: b.memoryPerConnection.rssBytes / a.memoryPerConnection.rssBytes,
        memoryPerConnectionIdleRatio: b.memoryPerConnection.rssBytesIdle / a.memoryPerConnection.rssBytesIdle,
        heapPerConnectionRatio: b.memoryPerConnection.heapBytes / a.memoryPerConnection.heapBytes,
        cpuPerMessageRatio: b.cpu.serverMicrosPerMessage / a.cpu.serverMicrosPerMessage,
        // Growth from the idle server to the first size carries fixed costs (code, pools, hubs):
        // the memory target is judged on the growth between two connection counts.
        targets: { p99: false, memory: false, memoryApplies: b.memoryPerConnection.fromConnections > 0 },
      };
      c.targets.p99 = c.p99LastRatio <= TARGET_RATIO && b.incompleteWrites === 0;
      c.targets.memory = c.memoryPerConnectionRatio <= TARGET_RATIO;
      out.push(c);
    }
  }
  return out;
}

function table(results: TargetResult[], comparisons: Comparison[]): string {
  const lines: string[] = [];
  const pad = (s: string, n: number) => s.padStart(n);
  lines.push('');
  lines.push(`${'target'.padEnd(20)}${pad('conns', 7)}${pad('last p50', 10)}${pad('last p99', 10)}${pad('first p50', 11)}${pad('first p99', 11)}${pad('KB/conn', 9)}${pad('(idle)', 8)}${pad('heap KB', 9)}${pad('µs/msg', 8)}${pad('fan-out', 9)}${pad('->fan', 7)}${pad('open s', 8)}  notes`);
  for (const r of results) {
    for (const size of OPTIONS.sizes) {
      const s = r.sizes[String(size)];
      if (!s) continue;
      const notes = [
        s.memoryPerConnection.fromConnections === 0 ? 'mem from idle' : `mem ${s.memoryPerConnection.fromConnections}->${size}`,
        s.incompleteWrites ? `${s.incompleteWrites} writes incomplete` : '',
        s.failedToOpen ? `${s.failedToOpen} failed to open` : '',
        s.dropped ? `${s.dropped} dropped` : '',
        s.cpu.microsPerMessageWithAdmin !== undefined ? `with admin ${s.cpu.microsPerMessageWithAdmin.toFixed(2)} µs/msg` : '',
      ].filter(Boolean);
      lines.push(
        `${r.target.padEnd(20)}${pad(String(size), 7)}${pad(fmt(s.lastClientMs.p50), 10)}${pad(fmt(s.lastClientMs.p99), 10)}${pad(fmt(s.firstClientMs.p50), 11)}${pad(fmt(s.firstClientMs.p99), 11)}` +
          `${pad(fmt(s.memoryPerConnection.rssBytes / 1024), 9)}${pad(fmt(s.memoryPerConnection.rssBytesIdle / 1024), 8)}${pad(fmt(s.memoryPerConnection.heapBytes / 1024), 9)}${pad(s.cpu.serverMicrosPerMessage.toFixed(2), 8)}${pad(fmt(s.fanoutMs.p50), 9)}${pad(fmt(s.responseToFanoutMs.p50), 7)}${pad(s.openSeconds.toFixed(1), 8)}  ${notes.join('; ')}`,
      );
    }
  }
  lines.push('');
  lines.push('latency in ms from the write\'s HTTP response to the first / last client receiving it; KB/conn = server RSS growth from the previous size / connections added (after the writes; idle = before them);');
  lines.push('heap KB = JS heap growth per connection (steadier than RSS); a negative first-client latency means a client had the message before the write\'s response arrived here');
  lines.push('fan-out = p50 ms the server spent writing one message to all its connections; ->fan = p50 ms from the write\'s response to the server starting that loop');
  lines.push('');
  lines.push(`Flagstream / raw baseline (targets: last-client p99 and RSS per connection <= ${TARGET_RATIO}x; first-client ratios over sub-millisecond baselines mean little)`);
  lines.push(`${'transport'.padEnd(11)}${pad('conns', 7)}${pad('p99 last', 10)}${pad('p50 last', 10)}${pad('p50 first', 11)}${pad('p99 first', 11)}${pad('mem/conn', 10)}${pad('(idle)', 8)}${pad('heap', 7)}${pad('cpu/msg', 9)}  verdict`);
  for (const c of comparisons) {
    const verdict = [
      `p99 ${c.targets.p99 ? 'MET' : 'MISSED'}`,
      c.targets.memoryApplies ? `memory ${c.targets.memory ? 'MET' : 'MISSED'}` : `memory ${c.targets.memory ? 'met' : 'missed'} (growth from idle: fixed costs, indicative only)`,
    ].join(', ');
    lines.push(
      `${c.transport.padEnd(11)}${pad(String(c.connections), 7)}${pad(`${fmt(c.p99LastRatio, 2)}x`, 10)}${pad(`${fmt(c.p50LastRatio, 2)}x`, 10)}${pad(`${fmt(c.p50FirstRatio, 2)}x`, 11)}${pad(`${fmt(c.p99FirstRatio, 2)}x`, 11)}` +
        `${pad(`${fmt(c.memoryPerConnectionRatio, 2)}x`, 10)}${pad(`${fmt(c.memoryPerConnectionIdleRatio, 2)}x`, 8)}${pad(`${fmt(c.heapPerConnectionRatio, 2)}x`, 7)}${pad(`${fmt(c.cpuPerMessageRatio, 2)}x`, 9)}  ${verdict}`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const id = randomBytes(6).toString('hex');
  const dbName = `flagstream_bench_${id}`;
  const dbUrl = new URL(POSTGRES_URL);
  dbUrl.pathname = `/${dbName}`;
  const databaseUrl = dbUrl.toString();
  const prefix = `flagstream-bench:${id}:`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const startedAt = new Date();
  const load = { start: loadavg(), end: [] as number[] };
  let admin: ServerProcess | undefined;
  let probeGateway: ServerProcess | undefined;

  const cleanup = async () => {
    for (const c of children) c.kill('SIGKILL');
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    const pg = new Client({ connectionString: POSTGRES_URL });
    await pg.connect();
    try {
      await pg.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    } finally {
      await pg.end();
    }
  };
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });

  try {
    console.log(`propagation benchmark: sizes ${OPTIONS.sizes.join(', ')}, ${OPTIONS.writes} writes (+${OPTIONS.warmup} warm-up) per size, ${OPTIONS.clientProcesses} client processes`);
    console.log(`database ${dbName}, redis prefix ${prefix}; load average ${load.start.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`);
    await ensureDatabase(databaseUrl);
    await migrate(databaseUrl);
    admin = new ServerProcess('admin', 'flagstream-admin.server.js', {
      BENCH_DATABASE_URL: databaseUrl,
      BENCH_REDIS_URL: REDIS_URL,
      BENCH_PREFIX: prefix,
      BENCH_AUDIT_KEY: `bench-audit-key-${randomBytes(16).toString('hex')}`,
    });
    const adminReady = await admin.ready;
    const s = await seed(`http://127.0.0.1:${adminReady.port}`, (adminReady.extra as { ownerToken: string }).ownerToken);

    probeGateway = startGateway({ databaseUrl, prefix });
    const probe = await probePatch(`http://127.0.0.1:${(await probeGateway.ready).port}`, s);
    await probeGateway.stop();
    console.log(`patch payload: ${Buffer.byteLength(probe.payload)} bytes of JSON (${probe.frameBytes} bytes as an SSE frame)`);

    const ctx: Context = { seed: s, admin, databaseUrl, prefix, payload: probe.payload, clocks: [] };
    const results: TargetResult[] = [];
    for (const transport of ['sse', 'socket.io'] as const) {
      const targets = OPTIONS.targets.filter((t) => TRANSPORT[t] === transport);
      if (targets.length) results.push(...(await runTransport(transport, targets, ctx)));
    }
    load.end = loadavg();
    const comparisons = compare(results);
    console.log(table(results, comparisons));
    const met = comparisons.flatMap((c) => [
      { what: `${c.transport} ${c.connections} p99`, ratio: c.p99LastRatio, met: c.targets.p99 },
      ...(c.targets.memoryApplies ? [{ what: `${c.transport} ${c.connections} memory/conn`, ratio: c.memoryPerConnectionRatio, met: c.targets.memory }] : []),
    ]);
    console.log('');
    console.log(`targets met:    ${met.filter((m) => m.met).map((m) => `${m.what} (${fmt(m.ratio, 2)}x)`).join(', ') || 'none'}`);
    console.log(`targets missed: ${met.filter((m) => !m.met).map((m) => `${m.what} (${fmt(m.ratio, 2)}x)`).join(', ') || 'none'}`);
    console.log(`load average at the end: ${load.end.map((l) => l.toFixed(2)).join(' ')}`);

    mkdirSync(join(OPTIONS.output, '..'), { recursive: true });
    writeFileSync(
      OPTIONS.output,
      `${JSON.stringify(
        {
          date: startedAt.toISOString(),
          node: process.version,
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model.trim(),
          totalMemoryBytes: totalmem(),
          machine: `${cpus().length} cores shared with other engineers' test runs (not an idle machine); load average at start ${load.start.map((l) => l.toFixed(2)).join(' ')}, at end ${load.end.map((l) => l.toFixed(2)).join(' ')}`,
          method: {
            latency: "client arrival (wall clock: performance.timeOrigin + performance.now()) minus the arrival of the write's HTTP response; Flagstream writes are admin toggles (POST .../toggle), raw writes are POST /publish on the raw server, which answers and then broadcasts",
            percentiles: `nearest rank over ${OPTIONS.writes} writes per size (p99 of 20 = the worst write)`,
            memoryPerConnection: 'server RSS (after two forced GCs) growth from the previous size divided by the connections added; measured after the writes at each size (rssBytesIdle: before them); the first size grows from the idle server and carries fixed costs',
            cpuPerMessage: "server process CPU (user+system) over the measured writes divided by messages delivered; for Flagstream the gateway process alone, and with the admin process's CPU for the writes",
            processes: 'admin, gateway, each raw server and each client process run in processes of their own; a fresh gateway per transport; connections grow 1,000 -> 5,000 -> 10,000 in one server process',
            interleaving: 'per transport, the raw server and the gateway run side by side, each with the same number of connections from the same client processes, and their writes alternate (raw, Flagstream, Flagstream, raw...), so load from other work on the machine falls on both alike',
            cpuWindow: 'CPU is read just before each measured write and just after its last delivery, and summed over the writes',
          },
          options: OPTIONS,
          payloadBytes: Buffer.byteLength(probe.payload),
          payload: JSON.parse(probe.payload) as unknown,
          sseFrameBytes: probe.frameBytes,
          gatewayConfig: { heartbeatMs: 15000, maxConnectionsPerKey: 20000, maxBufferedBytes: 1 << 20, backlogSize: 1000 },
          clockChecks: ctx.clocks,
          results,
          comparisons,
          targets: { ratio: TARGET_RATIO, met: met.filter((m) => m.met), missed: met.filter((m) => !m.met) },
        },
        null,
        2,
      )}\n`,
    );
    console.log(`wrote ${OPTIONS.output}`);
  } finally {
    if (admin) await admin.stop().catch(() => undefined);
    await cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
