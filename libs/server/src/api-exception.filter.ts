import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { DomainError, type ErrorBody, type ErrorCode, type ErrorDetail } from '@flagstream/errors';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'BAD_REQUEST',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  428: 'PRECONDITION_REQUIRED',
  429: 'TOO_MANY_REQUESTS',
  503: 'UNAVAILABLE',
};

/**
 * Turns the error body into what a route answers: the one shape by default; a protocol with its
 * own error shape (OFREP on the gateway) renders its routes differently.
 */
export type ErrorRenderer = (req: Request, status: number, body: ErrorBody) => unknown;

export const renderErrorBody: ErrorRenderer = (_req, _status, body) => body;

/**
 * Maps every failure to the one error body shape. Domain errors carry their status; framework
 * errors (unknown route, malformed JSON, oversized body) keep theirs; anything else is a 500
 * whose id (the request id) is logged with the stack and returned, and nothing more is revealed.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly render: ErrorRenderer = renderErrorBody,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request & { id?: string }>();
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    if (res.headersSent) return;

    // Terminus' readiness report is already a useful body: keep it.
    if (exception instanceof HttpException && isHealthReport(exception.getResponse())) {
      res.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const body = this.toBody(exception, requestId, req);
    res.status(body.status).json(this.render(req, body.status, { error: { ...body.error, requestId } }));
  }

  private toBody(exception: unknown, requestId: string | undefined, req: Request): { status: number; error: ErrorBody['error'] } {
    if (exception instanceof DomainError) {
      return { status: exception.status, error: { code: exception.code, message: exception.message, details: [...exception.details] } };
    }
    const status = httpStatusOf(exception);
    if (status !== undefined && status < 500) {
      return { status, error: { code: CODE_BY_STATUS[status] ?? 'BAD_REQUEST', message: clientMessage(exception, status, req), details: [] } };
    }
    this.logger.error({ err: exception, requestId }, 'unhandled error');
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      error: { code: 'INTERNAL', message: `internal error; quote error id ${requestId ?? 'unknown'} when reporting it`, details: [] as ErrorDetail[] },
    };
  }
}

/** " at position N" from a JSON parser message (which otherwise quotes the input), or nothing. */
function jsonPosition(message: string): string {
  const m = /position (\d+)/.exec(message);
  return m ? ` (at position ${m[1]})` : '';
}

/** HttpException status, or the status of a body-parser error (`type` + `status`). */
function httpStatusOf(e: unknown): number | undefined {
  if (e instanceof HttpException) return e.getStatus();
  const s = (e as { status?: unknown; statusCode?: unknown } | null)?.status ?? (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : undefined;
}

function clientMessage(e: unknown, status: number, req: Request): string {
  const type = (e as { type?: string }).type;
  // Only where it broke: the parser's own message quotes the body, which may hold a secret.
  if (type === 'entity.parse.failed') return `request body is not valid JSON${jsonPosition((e as Error).message)}`;
  if (type === 'entity.too.large') return `request body is larger than the limit of ${(e as { limit?: number }).limit ?? '?'} bytes`;
  if (status === 404) return `no route for ${req.method} ${req.path}`;
  if (e instanceof HttpException) {
    const r = e.getResponse();
    if (typeof r === 'string') return r;
    const m = (r as { message?: unknown }).message;
    if (typeof m === 'string') return m;
    if (Array.isArray(m)) return m.join('; ');
  }
  return (e as Error).message ?? 'bad request';
}

function isHealthReport(r: unknown): boolean {
  return typeof r === 'object' && r !== null && 'status' in r && 'details' in r && 'error' in r;
}

/**
 * Express error middleware placed right after the body parser: malformed JSON, oversized or
 * wrongly encoded bodies get the same error body as everything else (Nest would otherwise
 * pass on the parser's bare message).
 */
export function bodyParserErrors(render: ErrorRenderer = renderErrorBody) {
  return (err: unknown, req: Request & { id?: string }, res: Response, next: NextFunction): void => {
    const type = (err as { type?: unknown } | null)?.type;
    const status = httpStatusOf(err);
    if (typeof type !== 'string' || status === undefined || status >= 500) return next(err);
    const body: ErrorBody = {
      error: { code: CODE_BY_STATUS[status] ?? 'BAD_REQUEST', message: clientMessage(err, status, req), details: [], requestId: typeof req.id === 'string' ? req.id : undefined },
    };
    res.status(status).json(render(req, status, body));
  };
}
