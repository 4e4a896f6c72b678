/*
 * The real gateway (GatewayRuntime + GatewayModule, as apps/gateway/src/main.ts builds them) in a
 * process of its own, so that its memory and CPU are measured without the admin or the clients.
 * Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_PREFIX, BENCH_LOG_LEVEL.
 */
import 'reflect-metadata';
import { Redis } from 'ioredis';
import { Store } from '@flagstream/persistence';
import { createLogger, createMetricsRegistry } from '@flagstream/server';
import { createGatewayApp } from '../../apps/gateway/src/gateway.app';
import { GatewayRuntime } from '../../apps/gateway/src/gateway.runtime';
import { EnvironmentHub } from '../../apps/gateway/src/stream/environment-hub';
import { ready, serveMeasurements, wallNow, type FanoutTiming } from './bench-process';

/**
 * Timing probes (bench only, the application code is untouched): when the change stream handed a
 * revision to the hubs, and when the hub started and finished writing it to its subscribers.
 */
const timeline = new Map<number, FanoutTiming>();
function instrument(runtime: GatewayRuntime): void {
  const deliver = runtime.hubs.deliver.bind(runtime.hubs);
  runtime.hubs.deliver = (environmentId, events) => {
    const t = wallNow();
    for (const e of events) timeline.set(e.revision, { revision: e.revision, committedAt: Date.parse(e.occurredAt), receivedAt: t, fanoutStart: NaN, fanoutEnd: NaN });
    deliver(environmentId, events);
  };
  const apply = EnvironmentHub.prototype.apply;
  EnvironmentHub.prototype.apply = function timedApply(this: EnvironmentHub, event) {
    const start = wallNow();
    const outcome = apply.call(this, event);
    const entry = timeline.get(event.revision);
    if (entry) {
      entry.fanoutStart = start;
      entry.fanoutEnd = wallNow();
    }
    if (timeline.size > 500) timeline.delete(timeline.keys().next().value as number);
    return outcome;
  };
}

async function main(): Promise<void> {
  const databaseUrl = process.env.BENCH_DATABASE_URL!;
  const redisUrl = process.env.BENCH_REDIS_URL!;
  const logger = createLogger('gateway-bench', process.env.BENCH_LOG_LEVEL ?? 'error');
  const store = await Store.connect({ databaseUrl, poolSize: 8, applicationName: 'flagstream-bench-gateway' });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  const blockingRedis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const registry = createMetricsRegistry('gateway');
  const runtime = new GatewayRuntime({
    store,
    redis,
    blockingRedis,
    logger,
    registry,
    config: {
      keyPrefix: process.env.BENCH_PREFIX!,
      heartbeatMs: 15000,
      retryMs: 2000,
      backlogSize: 1000,
      maxBufferedBytes: 1 << 20,
      maxConnectionsPerKey: 20_000,
      requestsPerSecondPerKey: 1000,
      revocationCheckMs: 1000,
      resyncMs: 5000,
      publicUrl: 'http://127.0.0.1',
    },
  });
  instrument(runtime);
  runtime.start();
  const app = await createGatewayApp(runtime, { logger, registry, checks: [{ name: 'postgres', check: () => store.ping() }] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };

  serveMeasurements(
    () => ({
      connections: { sse: runtime.connections.count('sse'), socketio: runtime.connections.count('socket.io') },
      hubs: runtime.hubs.all().map((h) => ({ environment: h.environment, revision: h.revision, reach: h.reach() })),
      timeline: [...timeline.values()],
    }),
    async () => {
      await runtime.stop();
      await app.close();
      redis.disconnect();
      blockingRedis.disconnect();
      await store.close();
    },
  );
  ready(address.port);
}

main().catch((e: unknown) => {
  process.stderr.write(`gateway bench server failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
