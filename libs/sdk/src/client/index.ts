/**
 * `@flagstream/sdk/client`: Flagstream for browsers (client mode). It follows the gateway's
 * evaluated stream with a client SDK key and never loads the targeting engine.
 */
export { FlagstreamBrowserClient, FlagstreamAuthError } from './flagstream-browser-client';
export type { BrowserClientEvents, ErrorCode, EvaluationContext, EvaluationDetail, FlagstreamBrowserClientOptions } from './flagstream-browser-client';
export { EvaluatedStreamHttpError, FetchEvaluatedStreamTransport } from './evaluated-stream.transport';
export type { EvaluatedStreamOpenOptions, EvaluatedStreamTransport, FetchEvaluatedStreamTransportOptions } from './evaluated-stream.transport';
export { MAX_CACHE_ENTRY_CHARS, MAX_CACHED_CONTEXTS } from './value.cache';
export type { CachedValues, StorageLike } from './value.cache';
export type { BackoffOptions } from '../backoff';
export type { EvaluatedFlagV1 } from '@flagstream/protocol';
