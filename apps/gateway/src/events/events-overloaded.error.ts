import { DomainError } from '@flagstream/errors';

/** 429: the batch was not queued (the gateway is saturated or rate-limits the key); retry after `retryAfterSeconds`. */
export class EventsOverloadedError extends DomainError {
  readonly code = 'TOO_MANY_REQUESTS' as const;
  readonly status = 429;

  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
