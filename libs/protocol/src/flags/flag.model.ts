/** The value type of a flag; every variation of the flag holds a value of this kind. */
export type FlagKind = 'boolean' | 'string' | 'number' | 'json';

export const FLAG_KINDS: readonly FlagKind[] = ['boolean', 'string', 'number', 'json'];

/** One value a flag can serve. `key` is a slug, unique within the flag. */
export interface VariationV1 {
  key: string;
  value: unknown;
  name?: string;
  description?: string;
}

/**
 * Clause operators. See docs/evaluation.md for how each one treats a missing attribute and a
 * value of the wrong type (never an exception: the clause simply does not match).
 */
export type ClauseOperator =
  | 'in'
  | 'notIn'
  | 'equals'
  | 'startsWith'
  | 'endsWith'
  | 'contains'
  | 'matches'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'before'
  | 'after'
  | 'semverEq'
  | 'semverLt'
  | 'semverLte'
  | 'semverGt'
  | 'semverGte'
  | 'exists'
  | 'inSegment';

export const CLAUSE_OPERATORS: readonly ClauseOperator[] = [
  'in',
  'notIn',
  'equals',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
  'lt',
  'lte',
  'gt',
  'gte',
  'before',
  'after',
  'semverEq',
  'semverLt',
  'semverLte',
  'semverGt',
  'semverGte',
  'exists',
  'inSegment',
];

/** Operators that accept `caseInsensitive: true`. */
export const CASE_INSENSITIVE_OPERATORS: readonly ClauseOperator[] = [
  'in',
  'notIn',
  'equals',
  'startsWith',
  'endsWith',
  'contains',
  'matches',
];

export type ClauseValue = string | number | boolean;

/**
 * A test on one attribute of the evaluation context.
 * `attribute` is a dot path (`country`, `tenant.plan`); it is omitted for `inSegment`,
 * whose `values` are segment keys.
 */
export interface ClauseV1 {
  attribute?: string;
  operator: ClauseOperator;
  values: ClauseValue[];
  /** Inverts the operator's verdict on a present, well-typed value (see docs/evaluation.md). */
  negate?: boolean;
  /** For string operators: compare after lower-casing both sides (`matches`: the `i` flag). */
  caseInsensitive?: boolean;
}

/** One slice of a rollout: a variation and its weight in units of 1/100,000. */
export interface WeightedVariationV1 {
  variation: string;
  weight: number;
  /**
   * Only in a rollout that runs an experiment (`RolloutV1.experiment`): the units of this slice
   * are outside the experiment's traffic coverage. They are served the variation, but their
   * results carry no `experiment`, so they are not counted. Refused on other rollouts.
   */
  untracked?: boolean;
}

/**
 * A percentage rollout. The bucket of a context is
 * `floor(murmur3_32(utf8(seed ?? salt + ":" + bucketValue), 0) * 100000 / 2^32)`,
 * and slices are taken in the order of `variations`.
 */
export interface RolloutV1 {
  variations: WeightedVariationV1[];
  /** Attribute path whose value is hashed; default `targetingKey`. */
  bucketBy?: string;
  /** Replaces the flag's salt, e.g. to share buckets between flags of one experiment. */
  seed?: string;
  /**
   * The key (a slug) of the experiment this rollout runs. Results of its tracked slices (those
   * without `untracked`) carry it as `EvaluationResultV1.experiment`; it does not move buckets.
   */
  experiment?: string;
}

export interface FixedServeV1 {
  variation: string;
  rollout?: never;
}

export interface RolloutServeV1 {
  rollout: RolloutV1;
  variation?: never;
}

/** What a rule (or the default) serves: one variation, or a weighted rollout. */
export type ServeV1 = FixedServeV1 | RolloutServeV1;

/** All clauses must hold (an empty list always holds); the first matching rule serves. */
export interface RuleV1 {
  id: string;
  clauses: ClauseV1[];
  serve: ServeV1;
  description?: string;
}

/** Another flag that must evaluate (for the same context) to one of `variations`. */
export interface PrerequisiteV1 {
  flag: string;
  variations: string[];
}

/** A flag's settings in one environment (the body of PUT .../flags/{flag}/environments/{env}). */
export interface FlagEnvironmentSettingsV1 {
  on: boolean;
  offVariation: string;
  prerequisites: PrerequisiteV1[];
  rules: RuleV1[];
  defaultServe: ServeV1;
  salt: string;
}

/** The environment-independent part of a flag. */
export interface FlagDefinitionV1 {
  key: string;
  kind: FlagKind;
  variations: VariationV1[];
  name?: string;
  description?: string;
  /** Served to client-side (browser) SDK keys by bulk evaluation. */
  clientVisible?: boolean;
}

/** A whole flag: its definition and its settings in every environment, keyed by environment key. */
export interface FlagV1 extends FlagDefinitionV1 {
  environments: Record<string, FlagEnvironmentSettingsV1>;
}
