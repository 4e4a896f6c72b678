import 'reflect-metadata';
import { ChangePublisher, ChangeRelay } from '@flagstream/change-feed';
import { ChangeWriter, KekMaintenance, KeyringMismatchError, ReleasePlanQueue, ScheduledChangeQueue } from '@flagstream/changes';
import { OutboxDrain, Store, ensureDatabase, migrate } from '@flagstream/persistence';
import { auditKeyFrom, kekProviderFrom, secretCipher, createLogger, createMetricsRegistry, createRedis, exitWith, loadEnv, onShutdown, preflight, EnvValidationError } from '@flagstream/server';
import { createAdminApp } from './admin.app';
import { ADMIN_ENV } from './admin.env';
import { firstStart, type FirstStartResult } from './bootstrap/first-start';
import { closeJobQueues, openJobQueues } from './jobs/job-queues';
import { PropagationReader } from './propagation/propagation.reader';

/**
 * `node main.js` serves the admin API. `node main.js prepare` only creates and migrates the
 * database and runs the first-start steps (what `npm start` does before starting the apps).
 */
async function main(): Promise<void> {
  const command = process.argv[2] ?? 'serve';
  if (command !== 'serve' && command !== 'prepare') throw new Error(`unknown command "${command}": use serve or prepare`);
  const env = loadEnv(ADMIN_ENV);
  const auditKey = auditKeyFrom(env);
  const logger = createLogger('admin', env.LOG_LEVEL);
  // Refuses to start in production without a key-encryption key (never prints key material).
  const kek = await kekProviderFrom(env);
  if (kek.development) logger.warn('secrets use the public development key-encryption key: set FLAGSTREAM_KEK (docs/secrets.md) before storing real secrets');
  const publicUrl = env.ADMIN_PUBLIC_URL ?? `http://localhost:${env.ADMIN_PORT}`;

  await preflight({ databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL });
  if (await ensureDatabase(env.DATABASE_URL)) logger.info('created the database');
  const applied = await migrate(env.DATABASE_URL);
  if (applied.length) logger.info({ applied }, 'applied migrations');

  const store = await Store.connect({ databaseUrl: env.DATABASE_URL, auditKey, applicationName: 'flagstream-admin' });
  const first = await firstStart(store, { adminToken: env.FLAGSTREAM_ADMIN_TOKEN, demo: env.FLAGSTREAM_DEMO ?? env.NODE_ENV !== 'production' }, logger);
  printFirstStart(first, publicUrl);
  if (command === 'prepare') {
    await store.close();
    return;
  }
  const cipher = secretCipher(kek.provider, env.FLAGSTREAM_KEK_MIN_VERSION, {
    countUses: (v, n) => store.read.secrets.countKekUses(v, n),
    onShouldRotate: (v, uses) => logger.warn({ kekVersion: v, uses }, 'this key-encryption key has used half its nonce budget: rotate it (docs/secrets.md)'),
    onCountError: (err) => logger.warn({ err }, 'could not record key-encryption key uses; they stay pending'),
  });
  // The keyring must open everything stored; a rotation or a raised minimum is audited once.
  const kekMaintenance = new KekMaintenance(store, new ChangeWriter(store, { kick: () => undefined }), cipher, kek.provider);
  try {
    const { changes } = await kekMaintenance.checkKeyring();
    if (changes.length) logger.info({ changes }, 'the key-encryption keyring changed since the last start');
  } catch (e) {
    if (e instanceof KeyringMismatchError) throw new EnvValidationError([`FLAGSTREAM_KEK: ${e.message}`]);
    throw e;
  }

  const redis = createRedis(env.REDIS_URL, 'flagstream-admin');
  await redis.connect();
  const relay = new ChangeRelay(new OutboxDrain(store), new ChangePublisher(redis, { keyPrefix: env.REDIS_KEY_PREFIX, maxLen: env.CHANGE_STREAM_MAXLEN }), {
    batchSize: 500,
    pollIntervalMs: 1000,
    onError: (err) => logger.error({ err }, 'change relay pass failed; will retry'),
  });
  relay.start();
  // Scheduled changes become delayed jobs the worker runs (the worker's sweep re-enqueues them too).
  const scheduleQueue = new ScheduledChangeQueue(redis, env.REDIS_KEY_PREFIX);
  // Release plans' timed steps, likewise (the worker queues each following step itself).
  const planQueue = new ReleasePlanQueue(redis, env.REDIS_KEY_PREFIX);
  // Every worker queue, to show failed jobs and retry or remove them (no job runs in this process).
  const jobQueues = openJobQueues(redis, env.REDIS_KEY_PREFIX, (err) => logger.warn({ err }, 'job queue connection error'));

  const app = await createAdminApp(
    {
      store,
      relay,
      scheduleQueue,
      planQueue,
      experimentResults: { settleSeconds: env.EXPERIMENT_SETTLE_SECONDS },
      jobQueues,
      secretCipher: cipher,
      kekMaintenance,
      propagation: new PropagationReader(redis, env.REDIS_KEY_PREFIX),
      platform: {
        logger,
        registry: createMetricsRegistry('admin'),
        checks: [
          { name: 'postgres', check: () => store.ping() },
          { name: 'redis', check: async () => void (await redis.ping()) },
        ],
      },
    },
    { bodyLimit: env.ADMIN_BODY_LIMIT },
  );
  await app.listen(env.ADMIN_PORT, env.ADMIN_HOST);
  logger.info({ port: env.ADMIN_PORT }, `admin API on ${publicUrl}/api/v1, OpenAPI on ${publicUrl}/docs`);
  onShutdown(
    async () => {
      await app.close();
      await scheduleQueue.close();
      await planQueue.close();
      await closeJobQueues(jobQueues);
      await relay.stop();
      redis.disconnect();
      await store.close();
    },
    (m) => logger.info(m),
  );
}

function printFirstStart(first: FirstStartResult, url: string): void {
  const lines = [`Flagstream admin API: ${url}/api/v1`, `OpenAPI:              ${url}/docs`];
  if (first.ownerToken) {
    lines.push(
      first.ownerToken.generated
        ? `Owner token (shown once, store it now): ${first.ownerToken.token}`
        : 'Owner token: the value of FLAGSTREAM_ADMIN_TOKEN',
    );
  }
  if (first.demo) {
    lines.push(`Demo project "${first.demo.project}", environment development:`);
    lines.push(`  server SDK key (shown once): ${first.demo.serverKey}`);
    lines.push(`  client SDK key (shown once): ${first.demo.clientKey}`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
}

main().catch(exitWith);
