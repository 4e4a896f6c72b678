/**
 * The small typed hierarchy of failures that libs raise. Each app maps them once to its transport
 * (HTTP status and error body in the admin API). Libs never throw framework exceptions.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'VERSION_CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'PRECONDITION_REQUIRED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'WOULD_BREAK_VALUES'
  | 'TOO_MANY_REQUESTS'
  | 'UNAVAILABLE'
  | 'INTERNAL';

/** One thing that was wrong; `path` names the field (e.g. `rules[0].clauses[1].values`). */
export interface ErrorDetail {
  path?: string;
  message: string;
  /** Config writes: where a resolved value would break (see `WouldBreakValuesError`). */
  environment?: string;
  tenant?: string | null;
  rules?: string[];
}

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly status: number;

  constructor(
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends DomainError {
  readonly code = 'BAD_REQUEST' as const;
  readonly status = 400;
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED' as const;
  readonly status = 400;

  /** Prefixes every detail path, so a nested validator's problems point into the request body. */
  static fromProblems(message: string, problems: readonly ErrorDetail[], prefix = ''): ValidationError {
    return new ValidationError(
      message,
      problems.map((p) => ({ ...p, path: joinPath(prefix, p.path) })),
    );
  }
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED' as const;
  readonly status = 401;
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN' as const;
  readonly status = 403;
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  readonly status = 404;
}

export class ConflictError extends DomainError {
  readonly code = 'CONFLICT' as const;
  readonly status = 409;
}

/** A write carried a version (or If-Match) that is no longer current. */
export class VersionConflictError extends DomainError {
  readonly code = 'VERSION_CONFLICT' as const;
  readonly status = 409;

  constructor(
    readonly expected: number,
    readonly actual: number,
    what = 'resource',
  ) {
    super(`${what} is at version ${actual}, not ${expected}; reload it and apply your change again`, [
      { path: 'version', message: `expected ${actual}, got ${expected}` },
    ]);
  }
}

/**
 * A config write is valid on its own but would make effective values invalid somewhere else in
 * the hierarchy; each detail names the environment, tenant (null: the environment's own value),
 * targeted rules in effect, and the path and message inside the value.
 */
export class WouldBreakValuesError extends DomainError {
  readonly code = 'WOULD_BREAK_VALUES' as const;
  readonly status = 422;
}

/** This process cannot do that now or here (not configured for it): not the caller's mistake, not a crash. */
export class ServiceUnavailableError extends DomainError {
  readonly code = 'UNAVAILABLE' as const;
  readonly status = 503;
}

export class PreconditionRequiredError extends DomainError {
  readonly code = 'PRECONDITION_REQUIRED' as const;
  readonly status = 428;
}

export function joinPath(prefix: string, path: string | undefined): string | undefined {
  if (!prefix) return path;
  if (!path) return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}
