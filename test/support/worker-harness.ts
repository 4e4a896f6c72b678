import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import request from 'supertest';
import { DEFAULT_SCHEDULED_CHANGE_JOB_POLICY, ReleasePlanQueue, ScheduledChangeQueue } from '@flagstream/changes';
import { Store } from '@flagstream/persistence';
import { LocalKekProvider } from '@flagstream/crypto';
import { createLogger, createMetricsRegistry, secretCipher } from '@flagstream/server';
import { TEST_REDIS_URL } from '@flagstream/testing';
import { createAdminApp } from '../../apps/admin/src/admin.app';
import { PropagationReader } from '../../apps/admin/src/propagation/propagation.reader';
import { createWorkerRuntime, type WorkerConfig, type WorkerRuntime } from '../../apps/worker/src/worker.runtime';
import { startAdmin, TEST_AUDIT_KEY, type AdminHarness, type ApiClient } from './admin-harness';

export interface WorkerHarness {
  runtime: WorkerRuntime;
  registry: Registry;
  /** Graceful close (what SIGTERM does), then its connections. Safe to call twice. */
  close(): Promise<void>;
}

/** The worker settings of the tests: fast retries, a long sweep period (tests call `sweep()` or restart). */
export function testWorkerConfig(keyPrefix: string, overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    keyPrefix,
    concurrency: 4,
    sweepMs: 60_000,
    jobPolicy: { attempts: 5, backoffMs: 100 },
    changeStreamMaxLen: 1000,
    relayPollMs: 200,
    ...overrides,
  };
}

/** Starts a worker runtime in-process on the admin harness's database and Redis prefix. */
export async function startWorker(admin: AdminHarness, overrides: Partial<WorkerConfig> = {}, options: { keyring?: string } = {}): Promise<WorkerHarness> {
  const store = await Store.connect({ databaseUrl: admin.db.url, auditKey: TEST_AUDIT_KEY, poolSize: 8 });
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const blockingRedis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const registry = createMetricsRegistry('worker');
  // The admin harness's keyring unless the test rotates it: rotations and rewraps use it.
  const kek = LocalKekProvider.fromEnvValue(options.keyring ?? admin.keyring);
  const runtime = createWorkerRuntime({
    store,
    redis,
    blockingRedis,
    logger: createLogger('worker-test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    registry,
    config: testWorkerConfig(admin.prefix, overrides),
    // The admin harness's keyring: the worker's rotations write versions the admin can read.
    secretCipher: secretCipher(kek, 1, { countUses: (v, n) => store.read.secrets.countKekUses(v, n) }),
    kekProvider: kek,
  });
  await runtime.start();
  let closed: Promise<void> | undefined;
  return {
    runtime,
    registry,
    close() {
      closed ??= (async () => {
        await runtime.close();
        redis.disconnect();
        blockingRedis.disconnect();
        await store.close();
      })();
      return closed;
    },
  };
}

export interface SchedulingAdminHarness extends AdminHarness {
  /** The queue the admin enqueues scheduled changes on (the same one the workers read). */
  scheduleQueue: ScheduledChangeQueue;
  /** The queue the admin enqueues release plan transitions on. */
  planQueue: ReleasePlanQueue;
}

/**
 * The admin harness with scheduled-change jobs: `startAdmin`'s database, Redis prefix and relay,
 * serving an admin app that enqueues on the harness's queue (as `main.ts` wires it).
 */
export async function startSchedulingAdmin(): Promise<SchedulingAdminHarness> {
  const base = await startAdmin();
  const scheduleQueue = new ScheduledChangeQueue(base.redis, base.prefix, { ...DEFAULT_SCHEDULED_CHANGE_JOB_POLICY, backoffMs: 100 });
  const planQueue = new ReleasePlanQueue(base.redis, base.prefix, { ...DEFAULT_SCHEDULED_CHANGE_JOB_POLICY, backoffMs: 100 });
  const app = await createAdminApp({
    store: base.store,
    relay: base.relay,
    propagation: new PropagationReader(base.redis, base.prefix),
    platform: { logger: base.logger, registry: createMetricsRegistry('admin'), checks: [] },
    scheduleQueue,
    planQueue,
    jobQueues: base.jobQueues ?? undefined,
  });
  await app.init();
  return {
    ...base,
    app,
    scheduleQueue,
    planQueue,
    api: (token?: string) => client(app, token),
    async close() {
      await app.close();
      await scheduleQueue.close();
      await planQueue.close();
      await base.close();
    },
  };
}

function client(app: INestApplication, token?: string): ApiClient {
  const server = app.getHttpServer();
  const auth = (r: request.Test) => (token ? r.set('Authorization', `Bearer ${token}`) : r);
  return {
    get: (path: string) => auth(request(server).get(path)),
    post: (path: string, body?: unknown) => auth(request(server).post(path)).send(body as object),
    put: (path: string, body?: unknown) => auth(request(server).put(path)).send(body as object),
    patch: (path: string, body?: unknown) => auth(request(server).patch(path)).send(body as object),
    delete: (path: string) => auth(request(server).delete(path)),
    raw: () => request(server),
  };
}
