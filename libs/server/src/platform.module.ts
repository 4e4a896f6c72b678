import { Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { HealthController, READINESS_CHECKS, type ReadinessCheck } from './health';
import { HttpMetricsMiddleware, METRICS_REGISTRY, MetricsController } from './metrics';

export const APP_LOGGER = Symbol('APP_LOGGER');

export interface PlatformOptions {
  logger: Logger;
  registry: Registry;
  checks: ReadinessCheck[];
}

/** Health, metrics and the app's logger: what every Flagstream process exposes the same way. */
@Module({})
export class PlatformModule implements NestModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: APP_LOGGER, useValue: options.logger },
        { provide: METRICS_REGISTRY, useValue: options.registry },
        { provide: READINESS_CHECKS, useValue: options.checks },
        HttpMetricsMiddleware,
      ],
      exports: [APP_LOGGER, METRICS_REGISTRY],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*');
  }
}
