import type { EvaluationErrorCode, EvaluationReason, EvaluationResultV1 } from '@flagstream/protocol';

/**
 * Results are precomputed at compile time and shared between evaluations (they depend only on the
 * flag, the variation, the reason and the rule), so they are frozen, with frozen values, and every
 * one has the same shape.
 */
export function makeResult(
  key: string,
  value: unknown,
  variation: string | undefined,
  reason: EvaluationReason,
  ruleId?: string,
  prerequisite?: string,
  errorCode?: EvaluationErrorCode,
  errorMessage?: string,
): EvaluationResultV1 {
  return Object.freeze({ key, value, variation, reason, ruleId, prerequisite, errorCode, errorMessage });
}

export function errorResult(key: string, errorCode: EvaluationErrorCode, errorMessage: string, value: unknown = null): EvaluationResultV1 {
  return makeResult(key, value, undefined, 'ERROR', undefined, undefined, errorCode, errorMessage);
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
