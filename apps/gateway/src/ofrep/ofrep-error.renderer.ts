import type { Request } from 'express';
import type { ErrorBody } from '@flagstream/errors';

/**
 * OFREP routes answer errors as `{ errorCode, errorDetails }` (its openapi.yaml), even those raised
 * before the route runs (malformed JSON, oversized or unsafe bodies); other routes keep the one
 * Flagstream shape.
 */
export function renderOfrepError(req: Request, status: number, body: ErrorBody): unknown {
  if (!req.path.startsWith('/ofrep/')) return body;
  const errorCode = status === 404 ? 'FLAG_NOT_FOUND' : status === 400 ? 'INVALID_CONTEXT' : 'GENERAL';
  const flag = /^\/ofrep\/v1\/evaluate\/flags\/([^/]+)$/.exec(req.path);
  return { ...(flag ? { key: decodeURIComponent(flag[1]) } : {}), errorCode, errorDetails: body.error.message };
}
