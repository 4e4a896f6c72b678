/**
 * The attributes evaluation looks at. `targetingKey` identifies the subject (user, device, tenant)
 * and is the default bucketing attribute; any other attribute is addressed by a dot path.
 */
export interface EvaluationContextV1 {
  targetingKey?: string;
  [attribute: string]: unknown;
}

/** OpenFeature's resolution reasons. */
export type EvaluationReason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR';

export const EVALUATION_REASONS: readonly EvaluationReason[] = [
  'STATIC',
  'TARGETING_MATCH',
  'SPLIT',
  'DISABLED',
  'DEFAULT',
  'ERROR',
];

/** OpenFeature's error codes, used when the reason is ERROR. */
export type EvaluationErrorCode =
  | 'FLAG_NOT_FOUND'
  | 'TYPE_MISMATCH'
  | 'TARGETING_KEY_MISSING'
  | 'PARSE_ERROR'
  | 'GENERAL';

export const EVALUATION_ERROR_CODES: readonly EvaluationErrorCode[] = [
  'FLAG_NOT_FOUND',
  'TYPE_MISMATCH',
  'TARGETING_KEY_MISSING',
  'PARSE_ERROR',
  'GENERAL',
];

/**
 * The outcome of evaluating one flag for one context. On ERROR, `value` is the caller's default
 * (or null) and `variation` is undefined.
 */
export interface EvaluationResultV1 {
  /** The flag key. */
  key: string;
  value: unknown;
  variation?: string;
  reason: EvaluationReason;
  /** The id of the rule that matched (TARGETING_MATCH, or SPLIT from a rule's rollout). */
  ruleId?: string;
  /** The key of the prerequisite that was not met (reason DISABLED, off variation served). */
  prerequisite?: string;
  errorCode?: EvaluationErrorCode;
  errorMessage?: string;
  /**
   * The key of the experiment the context was put into: set only on results of a tracked slice of
   * a rollout that has `experiment` (reason SPLIT). Units served from an `untracked` slice, and
   * every other result, have none.
   */
  experiment?: string;
  /**
   * With `experiment`, when the rollout buckets by an attribute other than `targetingKey`: that
   * attribute's path (`tenant.id`), whose value in the context is the experiment's unit.
   */
  experimentUnit?: string;
}
