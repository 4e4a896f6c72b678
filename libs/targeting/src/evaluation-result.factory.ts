import type { EvaluationErrorCode, EvaluationReason, EvaluationResultV1 } from '@flagstream/protocol';

/** The optional parts of a result; absent ones are stored as `undefined` (see {@link makeResult}). */
export interface ResultDetails {
  ruleId?: string;
  prerequisite?: string;
  errorCode?: EvaluationErrorCode;
  errorMessage?: string;
  experiment?: string;
  experimentUnit?: string;
}

/**
 * Results are precomputed at compile time and shared between evaluations (they depend only on the
 * flag, the variation, the reason, the rule and the rollout slice), so they are frozen, with frozen
 * values, and every one has the same shape: every property is present, `undefined` when unused,
 * in one order, so that V8 gives all of them one hidden class and the callers' property reads stay
 * monomorphic.
 */
export function makeResult(key: string, value: unknown, variation: string | undefined, reason: EvaluationReason, details: ResultDetails = {}): EvaluationResultV1 {
  return Object.freeze({
    key,
    value,
    variation,
    reason,
    ruleId: details.ruleId,
    prerequisite: details.prerequisite,
    errorCode: details.errorCode,
    errorMessage: details.errorMessage,
    experiment: details.experiment,
    experimentUnit: details.experimentUnit,
  });
}

export function errorResult(key: string, errorCode: EvaluationErrorCode, errorMessage: string, value: unknown = null): EvaluationResultV1 {
  return makeResult(key, value, undefined, 'ERROR', { errorCode, errorMessage });
}

/** A deep copy of a JSON value, frozen, so callers cannot corrupt shared results. */
export function frozenCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  return deepFreeze(JSON.parse(JSON.stringify(value)) as object);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (child !== null && typeof child === 'object') deepFreeze(child as object);
  return Object.freeze(value);
}
