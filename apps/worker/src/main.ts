import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { Store } from '@flagstream/persistence';
import { auditKeyFrom, kekProviderFrom, secretCipher, configureHttpApp, createLogger, createMetricsRegistry, createRedis, exitWith, loadEnv, onShutdown, preflight } from '@flagstream/server';
import { WorkerModule } from './worker.module';
import { alertSettingsFrom } from './alerts/alert.env';
import { WORKER_ENV } from './worker.env';
import { createWorkerRuntime } from './worker.runtime';

async function main(): Promise<void> {
  const env = loadEnv(WORKER_ENV);
  const auditKey = auditKeyFrom(env);
  // Fails at start, naming the variable (never the secret), when the webhook is half configured.
  const alerts = alertSettingsFrom(env);
  // Rotations need the KEK; in production a worker without one runs everything else.
  const kek = env.NODE_ENV !== 'production' || env.FLAGSTREAM_KEK || env.FLAGSTREAM_KEK_FILE ? await kekProviderFrom(env) : null;
  const logger = createLogger('worker', env.LOG_LEVEL);
  await preflight({ databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL });
  // One connection per concurrent job, plus the sweep, the relay and health checks.
  const store = await Store.connect({ databaseUrl: env.DATABASE_URL, auditKey, poolSize: env.WORKER_CONCURRENCY + 3, applicationName: 'flagstream-worker' });
  const redis = createRedis(env.REDIS_URL, 'flagstream-worker');
  // BullMQ's worker blocks on Redis: its connection must retry forever instead of failing commands.
  const blockingRedis = new Redis(env.REDIS_URL, { connectionName: 'flagstream-worker-jobs', lazyConnect: true, maxRetriesPerRequest: null });
  await Promise.all([redis.connect(), blockingRedis.connect()]);
  const registry = createMetricsRegistry('worker');
  const runtime = createWorkerRuntime({
    store,
    redis,
    blockingRedis,
    logger,
    registry,
    secretCipher: kek ? secretCipher(kek.provider, env.FLAGSTREAM_KEK_MIN_VERSION, { countUses: (v, n) => store.read.secrets.countKekUses(v, n) }) : undefined,
    kekProvider: kek?.provider,
    config: {
      keyPrefix: env.REDIS_KEY_PREFIX,
      concurrency: env.WORKER_CONCURRENCY,
      sweepMs: env.WORKER_SWEEP_MS,
      jobPolicy: { attempts: env.WORKER_JOB_ATTEMPTS, backoffMs: env.WORKER_JOB_BACKOFF_MS },
      changeStreamMaxLen: env.CHANGE_STREAM_MAXLEN,
      relayPollMs: 1000,
      guardrailIntervalMs: env.WORKER_GUARDRAIL_MS,
      rotationIntervalMs: env.WORKER_ROTATION_MS,
      experimentIntervalMs: env.WORKER_EXPERIMENT_MS,
      experimentResults: { settleSeconds: env.EXPERIMENT_SETTLE_SECONDS },
      alerts,
    },
  });
  await runtime.start();
  const app = await NestFactory.create(
    WorkerModule.forRoot({
      logger,
      registry,
      checks: [
        { name: 'postgres', check: () => store.ping() },
        { name: 'redis', check: async () => void (await redis.ping()) },
        {
          name: 'scheduled-changes',
          check: async () => {
            if (!runtime.running) throw new Error('the scheduled-change worker is not running');
          },
        },
      ],
    }),
    { bufferLogs: true, bodyParser: false },
  );
  configureHttpApp(app, { logger });
  await app.listen(env.WORKER_PORT, env.WORKER_HOST);
  logger.info({ port: env.WORKER_PORT, concurrency: env.WORKER_CONCURRENCY }, 'worker listening');
  onShutdown(
    async () => {
      // Finish the jobs running now before anything they need goes away.
      await runtime.close();
      await app.close();
      redis.disconnect();
      blockingRedis.disconnect();
      await store.close();
    },
    (m) => logger.info(m),
  );
}

main().catch(exitWith);
