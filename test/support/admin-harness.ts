import type { INestApplication } from '@nestjs/common';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import request from 'supertest';
import type { DestinationStream, Logger } from 'pino';
import { ChangePublisher, ChangeRelay } from '@flagstream/change-feed';
import { bullPrefix, ChangeWriter, KekMaintenance } from '@flagstream/changes';
import { OutboxDrain, Store } from '@flagstream/persistence';
import { generateKeyring, LocalKekProvider } from '@flagstream/crypto';
import { createLogger, createMetricsRegistry, createRedis, secretCipher } from '@flagstream/server';
import { TEST_REDIS_URL, createTestDatabase, uniqueId, type TestDatabase } from '@flagstream/testing';
import { createAdminApp } from '../../apps/admin/src/admin.app';
import { firstStart } from '../../apps/admin/src/bootstrap/first-start';
import { closeJobQueues, openJobQueues, type JobQueueName, type JobQueues } from '../../apps/admin/src/jobs/job-queues';
import { PropagationReader } from '../../apps/admin/src/propagation/propagation.reader';

export const TEST_AUDIT_KEY = 'test-audit-key-0123456789abcdef0123456789';

export interface AdminHarness {
  app: INestApplication;
  db: TestDatabase;
  store: Store;
  redis: Redis;
  /** Redis key prefix of this test file. */
  prefix: string;
  relay: ChangeRelay;
  /** The worker's queues under this prefix, as the admin app sees them (null: started with `jobQueues: false`). */
  jobQueues: JobQueues | null;
  ownerToken: string;
  logger: Logger;
  /** The KEK keyring of secrets (the gateway harness serves secrets with it too). */
  keyring: string;
  /** supertest against the running app, with `token` as the bearer (if given). */
  api(token?: string): ApiClient;
  close(): Promise<void>;
}

export type ApiClient = ReturnType<typeof makeClient>;

function makeClient(app: INestApplication, token?: string) {
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

export interface AdminHarnessOptions {
  bodyLimit?: string;
  redisUrl?: string;
  /** false: start without the worker's queues, as an admin that cannot reach them (the jobs routes answer 503). */
  jobQueues?: boolean;
  /** Where the admin's logs go (default: stdout at TEST_LOG_LEVEL, silent unless set). */
  logDestination?: { level: string; stream: DestinationStream };
  /** The keyring of secrets (default: a fresh one per harness). */
  keyring?: string;
}

/**
 * Boots the real admin module (the same `createAdminApp` as production) on a fresh copy of the
 * migrated template database and a Redis key prefix of its own, with handles on the worker's
 * queues under that prefix (as `main.ts` wires them).
 */
export async function startAdmin(options: AdminHarnessOptions = {}): Promise<AdminHarness> {
  const db = await createTestDatabase();
  const store = await Store.connect({ databaseUrl: db.url, auditKey: TEST_AUDIT_KEY, poolSize: 5 });
  // Connected like production (createRedis), on the shared test Redis or a test's own server.
  const redis = createRedis(options.redisUrl ?? TEST_REDIS_URL, 'flagstream-admin-test');
  await redis.connect();
  const prefix = `flagstream-test:${uniqueId()}:`;
  const relay = new ChangeRelay(new OutboxDrain(store), new ChangePublisher(redis, { keyPrefix: prefix, maxLen: 1000 }), {
    batchSize: 100,
    pollIntervalMs: 100,
  });
  relay.start();
  const logger = options.logDestination
    ? createLogger('admin-test', options.logDestination.level, options.logDestination.stream)
    : createLogger('admin-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const keyring = options.keyring ?? generateKeyring();
  const kek = LocalKekProvider.fromEnvValue(keyring);
  const cipher = secretCipher(kek, 1, { countUses: (v, n) => store.read.secrets.countKekUses(v, n) });
  // Tests that stop their own Redis see connection errors here: logged, not printed by BullMQ.
  const jobQueues = options.jobQueues === false ? null : openJobQueues(redis, prefix, (err) => logger.debug({ err }, 'job queue connection error'));
  const app = await createAdminApp(
    {
      store,
      relay,
      jobQueues: jobQueues ?? undefined,
      secretCipher: cipher,
      kekMaintenance: new KekMaintenance(store, new ChangeWriter(store, relay), cipher, kek),
      propagation: new PropagationReader(redis, prefix),
      platform: {
        logger,
        registry: createMetricsRegistry('admin'),
        checks: [
          { name: 'postgres', check: () => store.ping() },
          { name: 'redis', check: async () => void (await redis.ping()) },
        ],
      },
    },
    { bodyLimit: options.bodyLimit },
  );
  await app.init();
  const first = await firstStart(store, { demo: false }, logger);
  if (!first.ownerToken) throw new Error('first start did not create the owner token');
  const ownerToken = first.ownerToken.token;

  return {
    app,
    db,
    store,
    redis,
    prefix,
    relay,
    jobQueues,
    ownerToken,
    logger,
    keyring,
    api: (token?: string) => makeClient(app, token),
    async close() {
      await app.close();
      if (jobQueues) await closeJobQueues(jobQueues);
      await relay.stop();
      const keys = await redis.keys(`${prefix}*`).catch(() => [] as string[]);
      if (keys.length) await redis.del(...keys).catch(() => undefined);
      redis.disconnect();
      await store.close();
      await db.drop();
    },
  };
}

/** Creates a token through the API and returns the secret. */
export async function createToken(h: AdminHarness, role: 'owner' | 'editor' | 'viewer', project?: string): Promise<string> {
  const res = await h.api(h.ownerToken).post('/api/v1/tokens', { name: `${role}${project ? `@${project}` : ''}`, role, project });
  if (res.status !== 201) throw new Error(`token creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/** A project with development / staging / production (protected) environments. */
export async function createProject(h: AdminHarness, key: string): Promise<void> {
  const api = h.api(h.ownerToken);
  const p = await api.post('/api/v1/projects', { key, name: key });
  if (p.status !== 201) throw new Error(`project creation failed: ${p.status} ${JSON.stringify(p.body)}`);
  for (const [env, prot] of [['development', false], ['staging', false], ['production', true]] as const) {
    const e = await api.post(`/api/v1/projects/${key}/environments`, { key: env, name: env, protected: prot });
    if (e.status !== 201) throw new Error(`environment creation failed: ${e.status} ${JSON.stringify(e.body)}`);
  }
}

/** Waits until `check` returns a value (polling), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Puts a job in one of the worker's queues under the harness's prefix and makes it fail for real:
 * a BullMQ worker runs it and throws `UnrecoverableError(reason)` (no retry), then stops, so no
 * worker is left to pick up what a test moves back to waiting. Other waiting jobs of that queue
 * run (and fail) too.
 */
export async function failJob(
  h: AdminHarness,
  queue: JobQueueName,
  id: string,
  job: { name?: string; data?: Record<string, unknown>; reason?: string; attempts?: number } = {},
): Promise<void> {
  const queues = h.jobQueues;
  if (!queues) throw new Error('this harness was started without job queues');
  const reason = job.reason ?? `${id} failed on purpose`;
  // A worker blocks on Redis: its connection must not give up on commands.
  const connection = h.redis.duplicate({ connectionName: 'flagstream-test-failing-worker', lazyConnect: false, maxRetriesPerRequest: null });
  const worker = new Worker(
    queue,
    async () => {
      throw new UnrecoverableError(reason);
    },
    { connection, prefix: bullPrefix(h.prefix) },
  );
  try {
    await queues[queue].add(job.name ?? 'test', job.data ?? {}, { jobId: id, attempts: job.attempts ?? 3 });
    await eventually(async () => (await queues[queue].getJobState(id)) === 'failed', 10_000);
  } finally {
    await worker.close();
    connection.disconnect();
  }
}
