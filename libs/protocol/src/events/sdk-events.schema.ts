import { KEY_PATTERN_SOURCE } from '../flags/key.pattern';
import { METRIC_NAME_PATTERN_SOURCE, SDK_EVENT_LIMITS, SDK_EVENTS_VERSION } from './sdk-events.model';

/** `$id` of the version 1 SDK events schema document (JSON Schema draft 2020-12). */
export const SDK_EVENTS_SCHEMA_V1_ID = 'https://flagstream.dev/schemas/sdk-events.v1.json';

/** RFC 3339 date-time with a time zone; the calendar itself is checked by parsing. */
export const SDK_EVENT_TIMESTAMP_PATTERN_SOURCE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$';

const contextKey = { type: 'string', minLength: 1, maxLength: SDK_EVENT_LIMITS.maxContextKeyLength };
const key = { type: 'string', pattern: KEY_PATTERN_SOURCE };

/**
 * The JSON Schema (draft 2020-12) of `SdkEventsBatchV1`, the body of `POST /sdk/v1/events`. It
 * checks structure, sizes and patterns; the time window of `timestamp` depends on the receiving
 * clock and is checked by `checkSdkEventsBatchV1`. Events are told apart by `kind` (an ajv
 * `discriminator`, so a bad event reports the problems of its own kind only). Unknown fields are
 * allowed and ignored.
 */
export const SDK_EVENTS_SCHEMA_V1 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: SDK_EVENTS_SCHEMA_V1_ID,
  title: 'Flagstream SDK events batch, version 1',
  $defs: {
    timestamp: {
      anyOf: [
        { type: 'number', minimum: 0, maximum: 8.64e15 },
        { type: 'string', maxLength: SDK_EVENT_LIMITS.maxTimestampLength, pattern: SDK_EVENT_TIMESTAMP_PATTERN_SOURCE },
      ],
    },
    exposure: {
      type: 'object',
      required: ['kind', 'flag', 'variation', 'contextKey', 'timestamp'],
      // A unit means nothing outside an experiment (and storage refuses one without it).
      dependentRequired: { unit: ['experiment'] },
      properties: {
        kind: { const: 'exposure' },
        flag: key,
        variation: key,
        contextKey,
        timestamp: { $ref: '#/$defs/timestamp' },
        experiment: key,
        unit: contextKey,
      },
    },
    metric: {
      type: 'object',
      required: ['kind', 'name', 'value', 'contextKey', 'timestamp'],
      properties: {
        kind: { const: 'metric' },
        name: { type: 'string', pattern: METRIC_NAME_PATTERN_SOURCE },
        value: { type: 'number', minimum: -SDK_EVENT_LIMITS.maxMetricMagnitude, maximum: SDK_EVENT_LIMITS.maxMetricMagnitude },
        contextKey,
        timestamp: { $ref: '#/$defs/timestamp' },
      },
    },
    event: {
      type: 'object',
      discriminator: { propertyName: 'kind' },
      oneOf: [{ $ref: '#/$defs/exposure' }, { $ref: '#/$defs/metric' }],
    },
  },
  type: 'object',
  required: ['events'],
  properties: {
    v: { const: SDK_EVENTS_VERSION },
    events: { type: 'array', minItems: 1, maxItems: SDK_EVENT_LIMITS.maxEventsPerBatch, items: { $ref: '#/$defs/event' } },
  },
} as const;
