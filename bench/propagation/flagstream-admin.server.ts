/*
 * The real admin (createAdminApp with its change relay, as apps/admin/src/main.ts builds them) in a
 * process of its own: the benchmark's writes go through its HTTP API.
 * Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_PREFIX, BENCH_AUDIT_KEY, BENCH_LOG_LEVEL.
 */
import 'reflect-metadata';
import { Redis } from 'ioredis';
import { ChangePublisher, ChangeRelay } from '@flagstream/change-feed';
import { OutboxDrain, Store } from '@flagstream/persistence';
import { createLogger, createMetricsRegistry } from '@flagstream/server';
import { createAdminApp } from '../../apps/admin/src/admin.app';
import { firstStart } from '../../apps/admin/src/bootstrap/first-start';
import { PropagationReader } from '../../apps/admin/src/propagation/propagation.reader';
import { ready, serveMeasurements } from './bench-process';

async function main(): Promise<void> {
  const databaseUrl = process.env.BENCH_DATABASE_URL!;
  const prefix = process.env.BENCH_PREFIX!;
  const logger = createLogger('admin-bench', process.env.BENCH_LOG_LEVEL ?? 'error');
  const store = await Store.connect({ databaseUrl, auditKey: process.env.BENCH_AUDIT_KEY!, poolSize: 5, applicationName: 'flagstream-bench-admin' });
  const redis = new Redis(process.env.BENCH_REDIS_URL!, { maxRetriesPerRequest: 2 });
  const relay = new ChangeRelay(new OutboxDrain(store), new ChangePublisher(redis, { keyPrefix: prefix, maxLen: 10_000 }), {
    batchSize: 500,
    pollIntervalMs: 1000,
    onError: (err) => logger.error({ err }, 'change relay pass failed; will retry'),
  });
  relay.start();
  const app = await createAdminApp({
    store,
    relay,
    propagation: new PropagationReader(redis, prefix),
    platform: {
      logger,
      registry: createMetricsRegistry('admin'),
      checks: [{ name: 'postgres', check: () => store.ping() }],
    },
  });
  await app.listen(0, '127.0.0.1');
  const first = await firstStart(store, { demo: false }, logger);
  if (!first.ownerToken) throw new Error('first start did not create the owner token (the database is not fresh)');
  const address = app.getHttpServer().address() as { port: number };

  serveMeasurements(
    () => ({}),
    async () => {
      await app.close();
      await relay.stop();
      redis.disconnect();
      await store.close();
    },
  );
  ready(address.port, { ownerToken: first.ownerToken.token });
}

main().catch((e: unknown) => {
  process.stderr.write(`admin bench server failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
