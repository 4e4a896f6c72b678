import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Store } from '@flagstream/persistence';
import { configureHttpApp, createLogger, createMetricsRegistry, createRedis, exitWith, loadEnv, onShutdown, preflight } from '@flagstream/server';
import { GatewayModule } from './gateway.module';
import { GATEWAY_ENV } from './gateway.env';

async function main(): Promise<void> {
  const env = loadEnv(GATEWAY_ENV);
  const logger = createLogger('gateway', env.LOG_LEVEL);
  await preflight({ databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL });
  const store = await Store.connect({ databaseUrl: env.DATABASE_URL, poolSize: 4, applicationName: 'flagstream-gateway' });
  const redis = createRedis(env.REDIS_URL, 'flagstream-gateway');
  await redis.connect();
  const app = await NestFactory.create(
    GatewayModule.forRoot({
      logger,
      registry: createMetricsRegistry('gateway'),
      checks: [
        { name: 'postgres', check: () => store.ping() },
        { name: 'redis', check: async () => void (await redis.ping()) },
      ],
    }),
    { bufferLogs: true, bodyParser: false },
  );
  configureHttpApp(app, { logger });
  await app.listen(env.GATEWAY_PORT, env.GATEWAY_HOST);
  logger.info({ port: env.GATEWAY_PORT }, 'gateway listening');
  onShutdown(
    async () => {
      await app.close();
      redis.disconnect();
      await store.close();
    },
    (m) => logger.info(m),
  );
}

main().catch(exitWith);
