import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { appendPath } from '../flags/flag-schema.validator';
import type { ValidationProblem } from '../flags/validation-problem.model';
import { SDK_EVENT_LIMITS, type SdkEventTimestampV1, type SdkEventsBatchV1 } from './sdk-events.model';
import { SDK_EVENTS_SCHEMA_V1 } from './sdk-events.schema';

let validator: ValidateFunction | undefined;

function validate(): ValidateFunction {
  // Compiled lazily, so that importing the protocol (e.g. in a browser SDK) costs nothing.
  validator ??= new Ajv2020({ allErrors: true, strict: true, discriminator: true }).compile(SDK_EVENTS_SCHEMA_V1);
  return validator;
}

/** Milliseconds since the Unix epoch of a wire timestamp; NaN when it names no real instant. */
export function sdkEventTime(timestamp: SdkEventTimestampV1): number {
  if (typeof timestamp === 'number') return Number.isFinite(timestamp) ? Math.floor(timestamp) : NaN;
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) return NaN;
  // Date.parse rolls impossible days over (2026-02-30 becomes March 2): refuse those.
  const day = timestamp.slice(0, 10);
  const offset = /([+-])(\d{2}):(\d{2})$/.exec(timestamp);
  const shift = offset ? (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3])) * 60_000 : 0;
  return new Date(ms + shift).toISOString().slice(0, 10) === day ? ms : NaN;
}

function pointerToPath(pointer: string): string {
  let path = '';
  if (pointer === '') return path;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = appendPath(path, /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment);
  }
  return path;
}

function toProblem(error: ErrorObject): ValidationProblem {
  const path = pointerToPath(error.instancePath);
  switch (error.keyword) {
    case 'required':
      return { path: appendPath(path, String(error.params.missingProperty)), message: 'is required' };
    case 'dependentRequired':
      return { path: appendPath(path, String(error.params.missingProperty)), message: `is required with "${String(error.params.property)}"` };
    case 'discriminator':
      return { path: appendPath(path, 'kind'), message: error.params.tagValue === undefined ? 'is required ("exposure" or "metric")' : 'must be "exposure" or "metric"' };
    case 'const':
      return { path, message: `must be ${JSON.stringify(error.params.allowedValue)}` };
    case 'pattern':
      return { path, message: `must match ${String(error.params.pattern)}` };
    case 'anyOf':
      return { path, message: 'must be milliseconds since the Unix epoch (a number) or an ISO 8601 date-time with a time zone' };
    default:
      return { path, message: error.message ?? 'is invalid' };
  }
}

/**
 * Checks a body of `POST /sdk/v1/events` and returns every problem, with paths relative to the
 * body (`events[3].value`); empty when the whole batch is acceptable. Besides the schema, each
 * `timestamp` must name a real instant no more than `SDK_EVENT_LIMITS.maxFutureMs` after `now`
 * and no more than `SDK_EVENT_LIMITS.maxPastMs` before it.
 */
export function checkSdkEventsBatchV1(value: unknown, now: number = Date.now()): ValidationProblem[] {
  const check = validate();
  if (!check(value)) {
    const problems: ValidationProblem[] = [];
    const seen = new Set<string>();
    for (const error of check.errors ?? []) {
      // anyOf reports each failed branch too; the anyOf summary says it better.
      if (error.schemaPath.includes('/anyOf/')) continue;
      const problem = toProblem(error);
      const id = `${problem.path}\u0000${problem.message}`;
      if (!seen.has(id)) {
        seen.add(id);
        problems.push(problem);
      }
    }
    return problems;
  }
  const problems: ValidationProblem[] = [];
  (value as SdkEventsBatchV1).events.forEach((event, i) => {
    const path = `events[${i}].timestamp`;
    const at = sdkEventTime(event.timestamp);
    if (Number.isNaN(at)) problems.push({ path, message: 'is not a real date and time' });
    else if (at > now + SDK_EVENT_LIMITS.maxFutureMs) problems.push({ path, message: 'is more than 24 hours in the future' });
    else if (at < now - SDK_EVENT_LIMITS.maxPastMs) problems.push({ path, message: 'is more than 30 days in the past' });
  });
  return problems;
}
