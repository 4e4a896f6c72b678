import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { createLogger, createMetricsRegistry, configureHttpApp, type ReadinessCheck } from '@flagstream/server';
import { GatewayModule } from '../apps/gateway/src/gateway.module';
import { WorkerModule } from '../apps/worker/src/worker.module';

/** Gateway and worker: health and metrics the same way as the admin app. */
describe.each([
  ['gateway', GatewayModule],
  ['worker', WorkerModule],
])('%s process', (name, Module) => {
  let app: INestApplication;
  let redisUp = true;

  beforeAll(async () => {
    const checks: ReadinessCheck[] = [
      { name: 'postgres', check: async () => undefined },
      {
        name: 'redis',
        check: async () => {
          if (!redisUp) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        },
      },
    ];
    const logger = createLogger(name, 'silent');
    app = await NestFactory.create(Module.forRoot({ logger, registry: createMetricsRegistry(name), checks }), { logger: false, bodyParser: false });
    configureHttpApp(app, { logger });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
  });

  it('is live and ready when its dependencies answer', async () => {
    expect((await request(app.getHttpServer()).get('/health/live')).status).toBe(200);
    const ready = await request(app.getHttpServer()).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.info).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
  });

  it('is not ready (503, naming the failing dependency) when one does not', async () => {
    redisUp = false;
    try {
      const ready = await request(app.getHttpServer()).get('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.error).toEqual({ redis: { status: 'down', message: 'connect ECONNREFUSED 127.0.0.1:6379' } });
      expect((await request(app.getHttpServer()).get('/health/live')).status).toBe(200);
    } finally {
      redisUp = true;
    }
  });

  it('exposes Prometheus metrics labelled with the app', async () => {
    const res = await request(app.getHttpServer()).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toContain(`flagstream_process_cpu_user_seconds_total{app="${name}"}`);
  });
});
