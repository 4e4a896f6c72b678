import { ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError } from '@flagstream/errors';

export interface OfrepErrorBody {
  key?: string;
  errorCode: string;
  errorDetails: string;
}

/** An OFREP error answer: its status, OFREP's body shape, and headers such as Retry-After. */
export class OfrepError extends Error {
  constructor(
    readonly status: number,
    readonly body: OfrepErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.errorDetails);
  }

  static fromAuth(e: unknown): unknown {
    if (e instanceof DomainError && (e.status === 401 || e.status === 403)) {
      return new OfrepError(e.status, { errorCode: 'GENERAL', errorDetails: e.message });
    }
    return e;
  }
}

/** OFREP routes answer in OFREP's shape; everything else falls through to the app's filter. */
@Catch(OfrepError)
export class OfrepExceptionFilter implements ExceptionFilter {
  catch(error: OfrepError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    for (const [k, v] of Object.entries(error.headers)) res.setHeader(k, v);
    res.status(error.status).json(error.body);
  }
}
