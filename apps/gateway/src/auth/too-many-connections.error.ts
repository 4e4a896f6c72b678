import { DomainError } from '@flagstream/errors';

/** 429: this SDK key already holds as many streams as it may. */
export class TooManyConnectionsError extends DomainError {
  readonly code = 'TOO_MANY_REQUESTS' as const;
  readonly status = 429;

  constructor(readonly limit: number) {
    super(`this SDK key already has ${limit} open streams; close some or raise GATEWAY_MAX_CONNECTIONS_PER_KEY`);
  }
}
