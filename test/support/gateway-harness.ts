import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { ChangeWriter, Secrets } from '@flagstream/changes';
import { LocalKekProvider } from '@flagstream/crypto';
import { Store } from '@flagstream/persistence';
import { createLogger, createMetricsRegistry, secretCipher } from '@flagstream/server';
import { TEST_REDIS_URL } from '@flagstream/testing';
import { createGatewayApp } from '../../apps/gateway/src/gateway.app';
import { GatewayRuntime, type GatewayConfig } from '../../apps/gateway/src/gateway.runtime';
import { TEST_AUDIT_KEY, type AdminHarness } from './admin-harness';

export interface GatewayHarness {
  url: string;
  runtime: GatewayRuntime;
  app: INestApplication;
  close(): Promise<void>;
}

/** The gateway settings of the tests: fast revocation and resync checks, small limits. */
export function testGatewayConfig(keyPrefix: string, overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    keyPrefix,
    heartbeatMs: 15000,
    retryMs: 500,
    backlogSize: 100,
    maxBufferedBytes: 1 << 20,
    maxConnectionsPerKey: 100,
    requestsPerSecondPerKey: 1000,
    revocationCheckMs: 200,
    resyncMs: 1000,
    publicUrl: 'http://gateway.test',
    eventsQueueSize: 50_000,
    eventsBatchSize: 1_000,
    eventsFlushMs: 50,
    ...overrides,
  };
}

/** Boots the real gateway module on an ephemeral port, on the admin harness's database and Redis prefix. */
export async function startGateway(admin: AdminHarness, overrides: Partial<GatewayConfig> = {}, options: { port?: number } = {}): Promise<GatewayHarness> {
  // With the audit key and the admin's keyring: this gateway serves secrets (and audits each read).
  const store = await Store.connect({ databaseUrl: admin.db.url, poolSize: 4, auditKey: TEST_AUDIT_KEY });
  const cipher = secretCipher(LocalKekProvider.fromEnvValue(admin.keyring), 1, { countUses: (v, n) => store.read.secrets.countKekUses(v, n) });
  const secrets = new Secrets(store, new ChangeWriter(store, { kick: () => undefined }), cipher);
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const blockingRedis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const logger = createLogger('gateway-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const registry = createMetricsRegistry('gateway');
  const runtime = new GatewayRuntime({
    store,
    redis,
    blockingRedis,
    logger,
    registry,
    config: testGatewayConfig(admin.prefix, overrides),
    secrets,
  });
  runtime.start();
  const app = await createGatewayApp(runtime, { logger, registry, checks: [{ name: 'postgres', check: () => store.ping() }] });
  await app.listen(options.port ?? 0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  // OFREP advertises its event stream under publicUrl: unless the test chose one, the bound address.
  if (overrides.publicUrl === undefined) runtime.deps.config.publicUrl = url;
  return {
    url,
    runtime,
    app,
    async close() {
      await runtime.stop();
      // Idle keep-alive sockets (fetch keeps one after an aborted stream) would hold close() for seconds.
      (app.getHttpServer() as import('node:http').Server).closeAllConnections();
      await app.close();
      redis.disconnect();
      blockingRedis.disconnect();
      await store.close();
    },
  };
}
