import 'reflect-metadata';
import { ChangeWriter, Secrets } from '@flagstream/changes';
import { Store } from '@flagstream/persistence';
import { auditKeyFrom, createLogger, createMetricsRegistry, createRedis, exitWith, kekProviderFrom, loadEnv, onShutdown, preflight, secretCipher } from '@flagstream/server';
import { createGatewayApp } from './gateway.app';
import { GatewayRuntime } from './gateway.runtime';
import { GATEWAY_ENV } from './gateway.env';

async function main(): Promise<void> {
  const env = loadEnv(GATEWAY_ENV);
  const logger = createLogger('gateway', env.LOG_LEVEL);
  await preflight({ databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL });
  // Secrets need the audit key (each read is audited) and the KEK; in production both must be set
  // for the gateway to serve them, elsewhere the development keys stand in.
  const servesSecrets = env.NODE_ENV !== 'production' || (Boolean(env.FLAGSTREAM_AUDIT_KEY) && Boolean(env.FLAGSTREAM_KEK || env.FLAGSTREAM_KEK_FILE));
  const auditKey = servesSecrets ? auditKeyFrom(env) : undefined;
  const kek = servesSecrets ? await kekProviderFrom(env) : null;
  const store = await Store.connect({ databaseUrl: env.DATABASE_URL, poolSize: 8, applicationName: 'flagstream-gateway', auditKey });
  const secrets = kek
    ? new Secrets(store, new ChangeWriter(store, { kick: () => undefined }), secretCipher(kek.provider, env.FLAGSTREAM_KEK_MIN_VERSION, { countUses: (v, n) => store.read.secrets.countKekUses(v, n) }))
    : undefined;
  if (!secrets) logger.info('secrets are not served (set FLAGSTREAM_AUDIT_KEY and FLAGSTREAM_KEK to serve GET /sdk/v1/secrets)');
  const redis = createRedis(env.REDIS_URL, 'flagstream-gateway');
  const blockingRedis = createRedis(env.REDIS_URL, 'flagstream-gateway-reader');
  await Promise.all([redis.connect(), blockingRedis.connect()]);
  const registry = createMetricsRegistry('gateway');
  const runtime = new GatewayRuntime({
    store,
    redis,
    blockingRedis,
    logger,
    registry,
    secrets,
    config: {
      keyPrefix: env.REDIS_KEY_PREFIX,
      heartbeatMs: env.GATEWAY_HEARTBEAT_MS,
      retryMs: env.GATEWAY_RETRY_MS,
      backlogSize: env.GATEWAY_BACKLOG,
      maxBufferedBytes: env.GATEWAY_MAX_BUFFER_BYTES,
      maxConnectionsPerKey: env.GATEWAY_MAX_CONNECTIONS_PER_KEY,
      requestsPerSecondPerKey: env.GATEWAY_RATE_PER_KEY,
      eventsQueueSize: env.GATEWAY_EVENTS_QUEUE,
      eventsBatchSize: env.GATEWAY_EVENTS_BATCH,
      eventsFlushMs: env.GATEWAY_EVENTS_FLUSH_MS,
      revocationCheckMs: 1000,
      resyncMs: env.GATEWAY_RESYNC_MS,
      publicUrl: (env.GATEWAY_PUBLIC_URL ?? `http://localhost:${env.GATEWAY_PORT}`).replace(/\/$/, ''),
    },
  });
  runtime.start();
  const app = await createGatewayApp(runtime, {
    logger,
    registry,
    checks: [
      { name: 'postgres', check: () => store.ping() },
      { name: 'redis', check: async () => void (await redis.ping()) },
    ],
  });
  await app.listen(env.GATEWAY_PORT, env.GATEWAY_HOST);
  logger.info({ port: env.GATEWAY_PORT }, 'gateway listening');
  onShutdown(
    async () => {
      await runtime.stop();
      await app.close();
      redis.disconnect();
      blockingRedis.disconnect();
      await store.close();
    },
    (m) => logger.info(m),
  );
}

main().catch(exitWith);
