export { FlagstreamClient, FlagstreamAuthError } from './flagstream-client';
export type { ConfigDetail, EvaluationContext, EvaluationDetail, ErrorCode, FlagstreamClientEvents, FlagstreamClientOptions, SnapshotCache } from './flagstream-client';
export { FlagstreamSecretsError } from './secrets.store';
export type { SecretDetail } from './secrets.store';
export { Backoff } from './backoff';
export type { BackoffOptions } from './backoff';
export { FetchSseTransport, StreamHttpError } from './transport';
export type { StreamEvent, StreamTransport, StreamOpenOptions, FetchSseTransportOptions } from './transport';
export { SseParser } from './sse-parser';
export type { SseMessage } from './sse-parser';
export { ExposureReporter } from './exposure.reporter';
export type { ExposureEvent, ExposureOptions } from './exposure.reporter';
// The main entry is the Node server SDK: the file cache uses node:fs (browsers use `@flagstream/sdk/client`).
export { FileSnapshotCache, SnapshotCacheError } from './node/file-snapshot-cache';
export { gatewayExposureSender, gatewayMetricSender, GatewayEventsError } from './gateway-events.sender';
export type { GatewayEventsSenderOptions, MetricEvent } from './gateway-events.sender';
