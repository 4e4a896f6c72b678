import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { configureHttpApp, type PlatformOptions } from '@flagstream/server';
import { GatewayModule } from './gateway.module';
import type { GatewayRuntime } from './gateway.runtime';
import { renderOfrepError } from './ofrep/ofrep-error.renderer';
import { RawSseRouter } from './sse/raw-sse.router';

/**
 * Builds the gateway's HTTP app, initialised and ready to listen: the same for `main.ts`, the
 * tests and the benchmark. SSE streams are served ahead of Express (RawSseRouter).
 */
export async function createGatewayApp(runtime: GatewayRuntime, platform: PlatformOptions): Promise<INestApplication> {
  const app = await NestFactory.create(GatewayModule.forRoot(platform, runtime), { bufferLogs: true, bodyParser: false });
  configureHttpApp(app, { logger: platform.logger, bodyLimit: '64kb', renderError: renderOfrepError });
  app.enableCors({ origin: true, exposedHeaders: ['ETag', 'Retry-After'], allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'If-None-Match', 'Last-Event-ID'] });
  await app.init();
  new RawSseRouter(runtime).install(app.getHttpServer());
  return app;
}
