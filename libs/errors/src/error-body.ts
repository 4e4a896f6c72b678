import type { ErrorCode, ErrorDetail } from './domain-error';

/** The one error body shape of every HTTP API. */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    details: ErrorDetail[];
    /** The request id; for a 500 it is also the id logged with the stack. */
    requestId?: string;
  };
}
