import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';
import pinoHttp, { type HttpLogger } from 'pino-http';

/** Never log credentials: these paths are replaced by pino before a line is written. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-flagstream-key"]',
  'res.headers["set-cookie"]',
  '*.token',
  '*.sdkKey',
  '*.apiKey',
  '*.privateKey',
  '*.plaintext',
  '*.passwd',
  '*.key_hash',
  '*.token_hash',
  '*.password',
  '*.secret',
];

export function createLogger(app: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Request ids: the caller's `X-Request-Id` when it is sane, otherwise a new UUID; echoed back. */
export function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** One JSON line per request, with its id, status and duration; health and metrics stay quiet. */
export function createHttpLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    genReqId: requestIdOf,
    autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }),
    },
  });
}

/** Keys sometimes travel in query strings (browsers' EventSource): strip their values. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:key|token|sdkKey|authorization)=)[^&]*/gi, '$1[REDACTED]');
}

/** Nest's logger interface on top of pino, so framework messages are JSON lines too. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  /** Nest's chatty start-up lines (module and route listings) are debug-level for us. */
  log(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}
