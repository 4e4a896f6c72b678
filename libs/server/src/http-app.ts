import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { ApiExceptionFilter, bodyParserErrors, renderErrorBody, type ErrorRenderer } from './api-exception.filter';
import { rejectUnsafeInput } from './input-guard';
import { PinoNestLogger, createHttpLogger } from './logging';

export interface HttpAppOptions {
  logger: Logger;
  /** Largest accepted JSON body. */
  bodyLimit?: string;
  /** How error bodies are rendered (default: the one Flagstream shape). */
  renderError?: ErrorRenderer;
}

/** The HTTP plumbing every app shares: request ids and logs, body limits, the error filter. */
export function configureHttpApp(app: INestApplication, options: HttpAppOptions): void {
  const express = app as NestExpressApplication;
  app.useLogger(new PinoNestLogger(options.logger));
  express.use(createHttpLogger(options.logger));
  express.disable('x-powered-by');
  // ETags are versions, set by the handlers where a version determines the whole body.
  express.set('etag', false);
  express.set('query parser', 'simple');
  express.useBodyParser('json', { limit: options.bodyLimit ?? '256kb', strict: true });
  const render = options.renderError ?? renderErrorBody;
  express.use(bodyParserErrors(render));
  express.use(rejectUnsafeInput(render));
  app.useGlobalFilters(new ApiExceptionFilter(options.logger, render));
}
