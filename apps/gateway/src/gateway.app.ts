import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { configureHttpApp, type PlatformOptions } from '@flagstream/server';
import { SDK_EVENT_LIMITS } from '@flagstream/protocol';
import { eventsBodyReader } from './events/events-body.reader';
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
  // Event batches may be larger than other bodies: read ahead of the shared parser (which then skips them).
  app.use('/sdk/v1/events', eventsBodyReader(SDK_EVENT_LIMITS.maxBatchBytes));
  configureHttpApp(app, { logger: platform.logger, bodyLimit: '64kb', renderError: renderOfrepError });
  app.enableCors({ origin: true, exposedHeaders: ['ETag', 'Retry-After'], allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'If-None-Match', 'Last-Event-ID'] });
  await app.init();
  new RawSseRouter(runtime).install(app.getHttpServer());
  return app;
}
