import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Store } from '@flagstream/persistence';
import { createLogger, createMetricsRegistry, createRedis } from '@flagstream/server';
import { createGatewayApp } from '../../apps/gateway/src/gateway.app';
import { GatewayRuntime, type GatewayConfig } from '../../apps/gateway/src/gateway.runtime';
import type { AdminHarness } from './admin-harness';
import { testGatewayConfig } from './gateway-harness';

/*
 * Pieces for fault-injection tests (test/convergence.e2e-spec.ts): a private, killable
 * redis-server, and the admin API and gateway wired to it the way `main.ts` wires them
 * (`createRedis`, the production connection options), instead of to the shared test Redis.
 */

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: the server keeps nothing (no RDB, no AOF). */
  kill(): Promise<void>;
  /** A new, empty server on the same port. */
  start(): Promise<void>;
  readonly running: boolean;
}

/** A redis-server of this test only, on a free port, with no persistence. */
export async function startRedisServer(binary = process.env.REDIS_SERVER_BIN ?? 'redis-server'): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    if (child) throw new Error('redis-server already running');
    for (let attempt = 0; ; attempt++) {
      const p = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      p.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const exit = new Promise<void>((r) => p.once('exit', () => r()));
      const ready = await Promise.race([waitForPort(port, 5000).then(() => true), exit.then(() => false)]);
      if (ready) {
        child = p;
        exited = exit.then(() => {
          if (child === p) child = null;
        });
        return;
      }
      // The port may still be held for a moment by the previous server: retry briefly.
      if (attempt >= 20) throw new Error(`redis-server did not start on port ${port}: ${output}`);
      await sleep(100);
    }
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== null;
    },
    start,
    async kill() {
      const c = child;
      if (!c) return;
      c.kill('SIGKILL');
      await exited;
      child = null;
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.write('PING\r\n');
      });
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing answers PING on port ${port}`);
    await sleep(20);
  }
}

export interface KillableGateway {
  url: string;
  port: number;
  runtime: GatewayRuntime;
  app: INestApplication;
  /** Like a crash: every socket is destroyed at once, Redis and Postgres connections dropped. */
  kill(): Promise<void>;
}

/**
 * The real gateway module on `port` (0: any), on the admin harness's database and Redis prefix,
 * with Redis connections made like `apps/gateway/src/main.ts` makes them.
 */
export async function startGatewayOn(admin: AdminHarness, redisUrl: string, overrides: Partial<GatewayConfig> = {}, port = 0): Promise<KillableGateway> {
  const store = await Store.connect({ databaseUrl: admin.db.url, poolSize: 4 });
  const redis: Redis = createRedis(redisUrl, 'flagstream-gateway-test');
  const blockingRedis: Redis = createRedis(redisUrl, 'flagstream-gateway-test-reader');
  // A gateway may come back while Redis is still down: ioredis keeps retrying (the production
  // main.ts refuses to start instead, and its supervisor restarts it).
  await Promise.all([redis.connect(), blockingRedis.connect()].map((p) => p.catch(() => undefined)));
  const logger = createLogger('gateway-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const registry = createMetricsRegistry('gateway');
  const runtime = new GatewayRuntime({
    store,
    redis,
    blockingRedis,
    logger,
    registry,
    config: testGatewayConfig(admin.prefix, { revocationCheckMs: 1000, ...overrides }),
  });
  runtime.start();
  const app = await createGatewayApp(runtime, { logger, registry, checks: [{ name: 'postgres', check: () => store.ping() }] });
  const server = app.getHttpServer() as Server;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await app.listen(port, '127.0.0.1');
  const bound = (server.address() as { port: number }).port;
  let killed = false;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    runtime,
    app,
    async kill() {
      if (killed) return;
      killed = true;
      server.close();
      for (const s of sockets) s.destroy();
      const stopping = runtime.stop().catch(() => undefined);
      redis.disconnect();
      blockingRedis.disconnect();
      // What is left (timers, the reader loop, the pool) would die with the process. A command
      // queued while ioredis was reconnecting never settles after disconnect(): do not wait for it.
      await withTimeout(stopping, 500);
      await withTimeout(runtime.receipts.stop(), 200);
      await withTimeout(app.close(), 2000);
      await withTimeout(store.close(), 2000);
    },
  };
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
