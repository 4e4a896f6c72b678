import { DomainError } from '@flagstream/errors';

/**
 * The admin process was started without handles on the worker's queues (an embedded or test
 * setup), so failed jobs cannot be shown or retried here. A 503 says "not here, not now" rather
 * than the 500 of an unexpected failure. `@flagstream/errors` has no 503 code yet, so the body's
 * code is INTERNAL; the status carries the meaning.
 */
export class JobQueuesUnavailableError extends DomainError {
  readonly code = 'INTERNAL' as const;
  readonly status = 503;
}
