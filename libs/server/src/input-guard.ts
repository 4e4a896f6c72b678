import type { NextFunction, Request, Response } from 'express';
import type { ErrorBody, ErrorDetail } from '@flagstream/errors';
import { renderErrorBody, type ErrorRenderer } from './api-exception.filter';

const MAX_REPORTED = 20;

/**
 * Finds what no handler should ever see: U+0000 (Postgres cannot store it in text or jsonb) and
 * `__proto__` keys (a prototype-pollution vector for any code that merges objects) anywhere, and
 * `constructor` / `prototype` as top-level fields (class-transformer drops them silently, so the
 * unknown-field check would never report them).
 */
export function findUnsafeInput(value: unknown, path = '', depth = 0, out: ErrorDetail[] = []): ErrorDetail[] {
  if (out.length >= MAX_REPORTED) return out;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push({ path: path || undefined, message: 'must not contain the NUL character (U+0000)' });
    return out;
  }
  if (value === null || typeof value !== 'object' || depth > 64) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => findUnsafeInput(v, `${path}[${i}]`, depth + 1, out));
    return out;
  }
  for (const key of Object.keys(value)) {
    const at = path ? `${path}.${key}` : key;
    if (key.includes('\u0000')) out.push({ path: at.split('\u0000').join('\\u0000'), message: 'field names must not contain the NUL character (U+0000)' });
    else if (key === '__proto__' || (depth === 0 && (key === 'constructor' || key === 'prototype'))) out.push({ path: at, message: 'unknown field' });
    else findUnsafeInput((value as Record<string, unknown>)[key], at, depth + 1, out);
  }
  return out;
}

/** Express middleware: refuses (400) bodies and query strings with unsafe input, naming where. */
export function rejectUnsafeInput(render: ErrorRenderer = renderErrorBody) {
  return (req: Request & { id?: string }, res: Response, next: NextFunction): void => guard(req, res, next, render);
}

function guard(req: Request & { id?: string }, res: Response, next: NextFunction, render: ErrorRenderer): void {
  // Query parameters are named as they are in validation errors: by their bare names.
  const details = [...findUnsafeInput(req.body), ...findUnsafeInput(req.query)];
  if (!details.length) return next();
  const body: ErrorBody = {
    error: { code: 'VALIDATION_FAILED', message: 'request is not valid', details, requestId: typeof req.id === 'string' ? req.id : undefined },
  };
  res.status(400).json(render(req, 400, body));
}
