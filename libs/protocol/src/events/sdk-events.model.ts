/**
 * What SDKs report to the gateway, version 1 (`POST /sdk/v1/events`, docs/protocol.md): exposures
 * (which variation a context was served) and metric observations, in batches.
 */
export const SDK_EVENTS_VERSION = 1 as const;

/** Limits of `POST /sdk/v1/events`. The schema and the gateway both enforce them. */
export const SDK_EVENT_LIMITS = {
  /** Events in one request. */
  maxEventsPerBatch: 1_000,
  /** Bytes of one request body (UTF-8 JSON). */
  maxBatchBytes: 512 * 1024,
  /** Length of a context key (the context's `targetingKey`), in UTF-16 code units. */
  maxContextKeyLength: 256,
  /** Length of an ISO 8601 `timestamp` string. */
  maxTimestampLength: 40,
  /** How far in the future (by the gateway's clock) an event may be. */
  maxFutureMs: 24 * 60 * 60 * 1000,
  /** How far in the past (by the gateway's clock) an event may be. */
  maxPastMs: 30 * 24 * 60 * 60 * 1000,
  /**
   * Largest magnitude of a metric value. Sums and sums of squares of values up to this stay far
   * inside double precision in the aggregations (one huge value cannot overflow them and stall an
   * experiment).
   */
  maxMetricMagnitude: 1e12,
} as const;

/** Metric names: a letter, then letters, digits, `_`, `.`, `:` or `-`; at most 128 characters. */
export const METRIC_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;

/** The source of {@link METRIC_NAME_PATTERN}, for JSON Schema `pattern` keywords. */
export const METRIC_NAME_PATTERN_SOURCE = '^[A-Za-z][A-Za-z0-9_.:-]{0,127}$';

/**
 * When an event happened: milliseconds since the Unix epoch, or an ISO 8601 / RFC 3339 date-time
 * with a time zone (`2026-11-26T07:20:01.123Z`, `2026-11-26T08:20:01+01:00`).
 */
export type SdkEventTimestampV1 = number | string;

/** A context was served a variation of a flag. */
export interface SdkExposureEventV1 {
  kind: 'exposure';
  /** The flag's key (a slug). */
  flag: string;
  /** The key of the variation served (a slug). */
  variation: string;
  /** The context's `targetingKey`: the unit experiments and guardrails count. */
  contextKey: string;
  timestamp: SdkEventTimestampV1;
  /**
   * The key (a slug) of the experiment this exposure puts the unit into: the evaluation result's
   * `experiment`. Absent for units outside every experiment (and outside its coverage).
   */
  experiment?: string;
  /**
   * Only with `experiment`, when the experiment's unit is not the `targetingKey`: the value of the
   * attribute named by the result's `experimentUnit` (1 to
   * {@link SDK_EVENT_LIMITS.maxContextKeyLength} characters).
   */
  unit?: string;
}

/** One observation of a metric (an error, a latency, a purchase amount) for a context. */
export interface SdkMetricEventV1 {
  kind: 'metric';
  /** The metric's name ({@link METRIC_NAME_PATTERN}). */
  name: string;
  /** A finite number (a count of 1 for an occurrence, a duration, an amount…). */
  value: number;
  /** The context's `targetingKey`. */
  contextKey: string;
  timestamp: SdkEventTimestampV1;
}

/** One event of a batch, told apart by `kind`. */
export type SdkEventV1 = SdkExposureEventV1 | SdkMetricEventV1;

/** Body of `POST /sdk/v1/events`. Unknown fields are ignored (a v1 gateway accepts newer SDKs' additions). */
export interface SdkEventsBatchV1 {
  /** The format version; absent means 1. */
  v?: typeof SDK_EVENTS_VERSION;
  /** 1 to {@link SDK_EVENT_LIMITS.maxEventsPerBatch} events. */
  events: SdkEventV1[];
}

/** The `202` answer of `POST /sdk/v1/events`: every event of the batch was queued for storage. */
export interface SdkEventsAcceptedV1 {
  accepted: number;
}
