import { isDeepStrictEqual } from 'node:util';
import type { ErrorDetail } from '@flagstream/errors';
import {
  FLAG_LIMITS,
  KEY_PATTERN,
  METRIC_NAME_PATTERN,
  type FlagEnvironmentSettingsV1,
  type RolloutV1,
  type ServeV1,
  type WeightedVariationV1,
} from '@flagstream/protocol';
import { parseAttributePath } from '@flagstream/targeting';
import {
  EXPERIMENT_METRIC_KINDS,
  EXPERIMENT_METRIC_ROLES,
  type ExperimentEntity,
  type ExperimentEventSources,
  type ExperimentMetricKind,
  type ExperimentMetricRole,
  type ExperimentVariationWeight,
} from '@flagstream/persistence';

/** A metric of a new experiment, as given. */
export interface ExperimentMetricInput {
  /** A slug, unique within the experiment. */
  key: string;
  role: ExperimentMetricRole;
  kind: ExperimentMetricKind;
  /** The metric event's name (the numerator's, for `ratio`). */
  event: string;
  /** The denominator's event name: required for `ratio`, refused for the other kinds. */
  denominatorEvent?: string;
  /** Only events within this many seconds after a unit's first exposure count (at most 90 days). */
  windowSeconds?: number;
  lowerIsBetter?: boolean;
}

/** A new experiment, as given (the admin's DTO satisfies it); see {@link EXPERIMENT_DEFAULTS}. */
export interface NewExperimentInput {
  key: string;
  name: string;
  hypothesis?: string;
  environment: string;
  flag: string;
  /** The variation the others are compared with; one of `variations`. */
  control: string;
  /** Every variation of the experiment, control included, with its relative weight. */
  variations: ExperimentVariationWeight[];
  /** Share of eligible units that enter, 0 < coverage ≤ 1, at most 5 decimals. */
  coverage?: number;
  /** The attribute path units are bucketed and counted by. */
  unitAttribute?: string;
  /** The id of the targeting rule whose serve the experiment takes over; absent: the default serve. */
  rule?: string;
  eventSources?: ExperimentEventSources;
  /** Significance level, 0 < alpha < 0.5, at most 5 decimals. */
  alpha?: number;
  metrics: ExperimentMetricInput[];
}

/** What the flag offers in the experiment's environment, for the checks that need it. */
export interface ExperimentFlagContext {
  key: string;
  variations: ReadonlySet<string>;
  /** Ids of the flag's targeting rules in the environment. */
  ruleIds: ReadonlySet<string>;
}

export const EXPERIMENT_DEFAULTS = { coverage: 1, unitAttribute: 'targetingKey', eventSources: 'all', alpha: 0.05 } as const;
export const MAX_EXPERIMENT_METRICS = 20;
export const MAX_EXPERIMENT_VARIATIONS = 20;
/** A metric's window is at most 90 days. */
export const MAX_METRIC_WINDOW_SECONDS = 90 * 24 * 3600;
/** Relative weights are positive and at most this (so buckets, 1/100,000, may be given as they are). */
export const MAX_EXPERIMENT_WEIGHT = FLAG_LIMITS.bucketScale;
/** The prefix of an experiment rollout's seed: each experiment buckets units afresh. */
export const EXPERIMENT_SEED_PREFIX = 'experiment:';

const SCALE = FLAG_LIMITS.bucketScale;
const RULE_ID_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${FLAG_LIMITS.maxRuleIdLength}}$`);
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/u;

/**
 * Every problem of a new experiment, each with its path in the request body
 * (`metrics[1].denominatorEvent`). With `flag`, also the variations and the rule checked against
 * the flag's definition and its settings in the environment. Empty: valid.
 */
export function experimentProblems(input: NewExperimentInput, flag?: ExperimentFlagContext): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const add = (path: string, message: string) => out.push({ path, message });

  if (!isString(input.key) || !KEY_PATTERN.test(input.key)) add('key', `must be a slug matching ${KEY_PATTERN.source}`);
  if (!isString(input.name) || input.name.trim().length === 0 || input.name.length > FLAG_LIMITS.maxNameLength || CONTROL_CHARACTERS.test(input.name)) {
    add('name', `must be 1 to ${FLAG_LIMITS.maxNameLength} characters without control characters`);
  }
  if (input.hypothesis !== undefined && (!isString(input.hypothesis) || input.hypothesis.length > FLAG_LIMITS.maxDescriptionLength)) {
    add('hypothesis', `must be at most ${FLAG_LIMITS.maxDescriptionLength} characters`);
  }
  if (!isString(input.environment) || !KEY_PATTERN.test(input.environment)) add('environment', `must be a slug matching ${KEY_PATTERN.source}`);
  if (!isString(input.flag) || !KEY_PATTERN.test(input.flag)) add('flag', `must be a slug matching ${KEY_PATTERN.source}`);

  out.push(...variationProblems(input, flag));

  if (input.coverage !== undefined) {
    if (!isFiniteNumber(input.coverage) || !(input.coverage > 0 && input.coverage <= 1)) add('coverage', 'must be more than 0 and at most 1');
    else if (!hasAtMostDecimals(input.coverage, 5)) add('coverage', 'at most 5 decimals (the bucket scale is 1/100,000)');
  }
  if (input.unitAttribute !== undefined) {
    const parsed = isString(input.unitAttribute) ? parseAttributePath(input.unitAttribute) : 'must be an attribute path';
    if (typeof parsed === 'string') add('unitAttribute', parsed);
  }
  if (input.rule !== undefined) {
    if (!isString(input.rule) || !RULE_ID_PATTERN.test(input.rule)) add('rule', `must be a rule id matching ${RULE_ID_PATTERN.source}`);
    else if (flag && !flag.ruleIds.has(input.rule)) add('rule', `flag "${flag.key}" has no rule "${input.rule}" in this environment`);
  }
  if (input.eventSources !== undefined && input.eventSources !== 'all' && input.eventSources !== 'server') add('eventSources', 'must be "all" or "server"');
  if (input.alpha !== undefined) {
    if (!isFiniteNumber(input.alpha) || !(input.alpha > 0 && input.alpha < 0.5)) add('alpha', 'must be more than 0 and less than 0.5');
    else if (!hasAtMostDecimals(input.alpha, 5)) add('alpha', 'at most 5 decimals');
  }

  out.push(...metricProblems(input.metrics));
  if (!out.some((p) => p.path === 'coverage' || p.path?.startsWith('variations'))) out.push(...sliceProblems(input));
  return out;
}

function variationProblems(input: NewExperimentInput, flag?: ExperimentFlagContext): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (!Array.isArray(input.variations) || input.variations.length < 2 || input.variations.length > MAX_EXPERIMENT_VARIATIONS) {
    out.push({ path: 'variations', message: `must hold 2 to ${MAX_EXPERIMENT_VARIATIONS} variations, control included` });
  }
  const seen = new Set<string>();
  (Array.isArray(input.variations) ? input.variations : []).forEach((v, i) => {
    const at = `variations[${i}]`;
    if (!isString(v?.variation)) out.push({ path: `${at}.variation`, message: 'must be a variation key' });
    else if (seen.has(v.variation)) out.push({ path: `${at}.variation`, message: `variation "${v.variation}" appears twice` });
    else if (flag && !flag.variations.has(v.variation)) out.push({ path: `${at}.variation`, message: `flag "${flag.key}" has no variation "${v.variation}"` });
    if (isString(v?.variation)) seen.add(v.variation);
    if (!isFiniteNumber(v?.weight) || !(v.weight > 0 && v.weight <= MAX_EXPERIMENT_WEIGHT)) {
      out.push({ path: `${at}.weight`, message: `must be more than 0 and at most ${MAX_EXPERIMENT_WEIGHT} (weights are relative)` });
    }
  });
  if (!isString(input.control)) out.push({ path: 'control', message: 'must be a variation key' });
  else if (!seen.has(input.control)) out.push({ path: 'control', message: `must be one of the experiment's variations (not "${input.control}")` });
  return out;
}

/** Each variation needs at least one of the 100,000 buckets once coverage and weights are applied. */
function sliceProblems(input: NewExperimentInput): ErrorDetail[] {
  const coverage = input.coverage ?? EXPERIMENT_DEFAULTS.coverage;
  const weights = trackedWeights(coverage, input.variations.map((v) => v.weight));
  const empty = weights.findIndex((w) => w === 0);
  if (empty < 0) return [];
  return [{ path: `variations[${empty}].weight`, message: `with coverage ${coverage} and these weights, variation "${input.variations[empty]!.variation}" gets no bucket (1/100,000): raise its weight or the coverage` }];
}

function metricProblems(metrics: readonly ExperimentMetricInput[]): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (!Array.isArray(metrics) || metrics.length < 1 || metrics.length > MAX_EXPERIMENT_METRICS) {
    return [{ path: 'metrics', message: `must hold 1 to ${MAX_EXPERIMENT_METRICS} metrics` }];
  }
  const keys = new Set<string>();
  let primaries = 0;
  metrics.forEach((m, i) => {
    const at = `metrics[${i}]`;
    if (!isString(m?.key) || !KEY_PATTERN.test(m.key)) out.push({ path: `${at}.key`, message: `must be a slug matching ${KEY_PATTERN.source}` });
    else if (keys.has(m.key)) out.push({ path: `${at}.key`, message: `metric key "${m.key}" appears twice` });
    if (isString(m?.key)) keys.add(m.key);
    if (!EXPERIMENT_METRIC_ROLES.includes(m?.role)) out.push({ path: `${at}.role`, message: `must be one of ${EXPERIMENT_METRIC_ROLES.join(', ')}` });
    if (m?.role === 'primary') primaries++;
    if (!EXPERIMENT_METRIC_KINDS.includes(m?.kind)) out.push({ path: `${at}.kind`, message: `must be one of ${EXPERIMENT_METRIC_KINDS.join(', ')}` });
    if (!isString(m?.event) || !METRIC_NAME_PATTERN.test(m.event)) out.push({ path: `${at}.event`, message: `must be a metric name matching ${METRIC_NAME_PATTERN.source}` });
    if (m?.kind === 'ratio') {
      if (m.denominatorEvent === undefined) out.push({ path: `${at}.denominatorEvent`, message: 'required for a ratio metric' });
      else if (!isString(m.denominatorEvent) || !METRIC_NAME_PATTERN.test(m.denominatorEvent)) {
        out.push({ path: `${at}.denominatorEvent`, message: `must be a metric name matching ${METRIC_NAME_PATTERN.source}` });
      } else if (m.denominatorEvent === m.event) out.push({ path: `${at}.denominatorEvent`, message: 'must differ from event (the ratio would always be 1)' });
    } else if (m?.denominatorEvent !== undefined) {
      out.push({ path: `${at}.denominatorEvent`, message: 'only a ratio metric has a denominator event' });
    }
    if (m?.windowSeconds !== undefined && !(Number.isInteger(m.windowSeconds) && m.windowSeconds >= 1 && m.windowSeconds <= MAX_METRIC_WINDOW_SECONDS)) {
      out.push({ path: `${at}.windowSeconds`, message: `must be a whole number of seconds from 1 to ${MAX_METRIC_WINDOW_SECONDS} (90 days)` });
    }
    if (m?.lowerIsBetter !== undefined && typeof m.lowerIsBetter !== 'boolean') out.push({ path: `${at}.lowerIsBetter`, message: 'must be a boolean' });
  });
  if (primaries !== 1) out.push({ path: 'metrics', message: `exactly one metric has the role "primary" (found ${primaries})` });
  return out;
}

/**
 * The tracked slices' sizes in buckets (1/100,000): `round(coverage × 100,000 × w / Σw)` by the
 * largest-remainder method, so they sum to exactly `round(coverage × 100,000)` (ties go to the
 * earlier variation).
 */
export function trackedWeights(coverage: number, weights: readonly number[]): number[] {
  const total = Math.round(coverage * SCALE);
  const sum = weights.reduce((s, w) => s + w, 0);
  if (weights.length === 0 || !(sum > 0)) return weights.map(() => 0);
  const quotas = weights.map((w) => (total * w) / sum);
  const out = quotas.map((q) => Math.floor(q));
  let left = total - out.reduce((s, w) => s + w, 0);
  const byRemainder = quotas.map((q, i) => ({ i, r: q - Math.floor(q) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    out[i]!++;
    left--;
  }
  return out;
}

/**
 * The rollout an experiment writes into the serve it takes over: its marker, its own seed (each
 * experiment buckets units afresh), the tracked slices in the order of `variations`, then, when
 * coverage < 1, the rest of the buckets as an untracked control slice. Weights sum to 100,000.
 */
export function experimentRollout(x: Pick<ExperimentEntity, 'key' | 'unitAttribute' | 'controlVariation' | 'variations' | 'coverage'>): RolloutV1 {
  const tracked = trackedWeights(x.coverage, x.variations.map((v) => v.weight));
  const variations: WeightedVariationV1[] = x.variations.map((v, i) => ({ variation: v.variation, weight: tracked[i]! }));
  const rest = SCALE - tracked.reduce((s, w) => s + w, 0);
  if (rest > 0) variations.push({ variation: x.controlVariation, weight: rest, untracked: true });
  return {
    experiment: x.key,
    ...(x.unitAttribute !== EXPERIMENT_DEFAULTS.unitAttribute ? { bucketBy: x.unitAttribute } : {}),
    seed: `${EXPERIMENT_SEED_PREFIX}${x.key}`,
    variations,
  };
}

/** The serve an experiment takes over: the rule's (by id), or the default serve (`ruleId` null). Undefined: the rule is gone. */
export function serveAt(settings: FlagEnvironmentSettingsV1, ruleId: string | null): ServeV1 | undefined {
  if (ruleId === null) return settings.defaultServe;
  return settings.rules.find((r) => r.id === ruleId)?.serve;
}

/** A copy of `settings` with only the serve at that place replaced (every other setting kept). */
export function withServeAt(settings: FlagEnvironmentSettingsV1, ruleId: string | null, serve: ServeV1): FlagEnvironmentSettingsV1 {
  if (ruleId === null) return { ...settings, defaultServe: serve };
  return { ...settings, rules: settings.rules.map((r) => (r.id === ruleId ? { ...r, serve } : r)) };
}

/** Whether a serve is the rollout of experiment `key` (not replaced by an edit since the start). */
export function runsExperiment(serve: ServeV1 | undefined, key: string): boolean {
  return serve?.rollout?.experiment === key;
}

/**
 * Why a running experiment's units are not being assigned as it says, or null when they are: the
 * flag is off there (it serves its off variation: no exposure), its serve no longer runs the
 * experiment (replaced since the start: no exposure), or it runs it with other slices (re-weighted
 * by an edit: the results mix allocations).
 */
export function assignmentProblem(
  x: Pick<ExperimentEntity, 'key' | 'unitAttribute' | 'controlVariation' | 'variations' | 'coverage' | 'ruleId'>,
  settings: FlagEnvironmentSettingsV1,
  environment: string,
): string | null {
  const serve = serveAt(settings, x.ruleId);
  const where = x.ruleId === null ? 'default serve' : `serve of rule "${x.ruleId}"`;
  if (!runsExperiment(serve, x.key)) return `the flag's ${where} in "${environment}" no longer runs this experiment (it was replaced): no unit is assigned; stop the experiment`;
  if (!isDeepStrictEqual(serve!.rollout, experimentRollout(x))) return `the flag's ${where} in "${environment}" runs this experiment with other slices than it defines (edited since the start): the results mix allocations`;
  if (!settings.on) return `the flag is off in "${environment}": it serves its off variation and records no exposure`;
  return null;
}

/** The variations a serve can serve (to check that a serve from the past still fits the flag). */
export function variationsOf(serve: ServeV1): string[] {
  return serve.rollout ? serve.rollout.variations.map((v) => v.variation) : [serve.variation];
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function hasAtMostDecimals(v: number, decimals: number): boolean {
  const scaled = v * 10 ** decimals;
  return Math.abs(Math.round(scaled) - scaled) < 1e-6;
}
