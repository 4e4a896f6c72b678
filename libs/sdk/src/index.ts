export { FlagstreamClient, FlagstreamAuthError } from './flagstream-client';
export type { EvaluationContext, EvaluationDetail, ErrorCode, FlagstreamClientOptions, SnapshotCache } from './flagstream-client';
export { Backoff } from './backoff';
export type { BackoffOptions } from './backoff';
export { FetchSseTransport, StreamHttpError } from './transport';
export type { StreamTransport, StreamOpenOptions, FetchSseTransportOptions } from './transport';
export { SseParser } from './sse-parser';
export type { SseMessage } from './sse-parser';
