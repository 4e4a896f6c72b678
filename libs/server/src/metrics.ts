import { Controller, Get, Header, Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { NextFunction, Request, Response } from 'express';

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/** One registry per app process, with Node's default metrics and HTTP request metrics. */
export function createMetricsRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry, prefix: 'flagstream_' });
  new Histogram({
    name: 'flagstream_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Counter({
    name: 'flagstream_http_errors_total',
    help: 'HTTP responses with status >= 500',
    labelNames: ['route'],
    registers: [registry],
  });
  return registry;
}

@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  private readonly duration: Histogram<'method' | 'route' | 'status'>;
  private readonly errors: Counter<'route'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.duration = registry.getSingleMetric('flagstream_http_request_duration_seconds') as Histogram<'method' | 'route' | 'status'>;
    this.errors = registry.getSingleMetric('flagstream_http_errors_total') as Counter<'route'>;
  }

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.duration.startTimer();
    res.on('finish', () => {
      // The route pattern, not the URL, keeps label cardinality bounded.
      const path = (req.route as { path?: string } | undefined)?.path;
      const route = path === undefined ? 'unmatched' : `${req.baseUrl}${path}`;
      end({ method: req.method, route, status: String(res.statusCode) });
      if (res.statusCode >= 500) this.errors.inc({ route });
    });
    next();
  }
}

@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
