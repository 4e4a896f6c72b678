import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Store } from '@flagstream/persistence';
import { configureHttpApp, createLogger, createMetricsRegistry, createRedis, exitWith, loadEnv, onShutdown, preflight } from '@flagstream/server';
import { WorkerModule } from './worker.module';
import { WORKER_ENV } from './worker.env';

async function main(): Promise<void> {
  const env = loadEnv(WORKER_ENV);
  const logger = createLogger('worker', env.LOG_LEVEL);
  await preflight({ databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL });
  const store = await Store.connect({ databaseUrl: env.DATABASE_URL, poolSize: 4, applicationName: 'flagstream-worker' });
  const redis = createRedis(env.REDIS_URL, 'flagstream-worker');
  await redis.connect();
  const app = await NestFactory.create(
    WorkerModule.forRoot({
      logger,
      registry: createMetricsRegistry('worker'),
      checks: [
        { name: 'postgres', check: () => store.ping() },
        { name: 'redis', check: async () => void (await redis.ping()) },
      ],
    }),
    { bufferLogs: true, bodyParser: false },
  );
  configureHttpApp(app, { logger });
  await app.listen(env.WORKER_PORT, env.WORKER_HOST);
  logger.info({ port: env.WORKER_PORT }, 'worker listening');
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
