import { ServiceUnavailableError } from '@flagstream/errors';

/**
 * The admin process was started without handles on the worker's queues (an embedded or test
 * setup), so failed jobs cannot be shown or retried here: a 503 ("not here, not now") rather than
 * the 500 of an unexpected failure.
 */
export class JobQueuesUnavailableError extends ServiceUnavailableError {}
