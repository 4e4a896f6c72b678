import type { ErrorDetail } from '@flagstream/errors';
import type { ExposureSample, GroupTotals, GuardrailComparison, GuardrailRollback, GuardrailStatistic, NewReleasePlanGuardrail, ReleasePlanGuardrailEntity } from '@flagstream/persistence';
import { METRIC_NAME_PATTERN } from '@flagstream/protocol';
import { summarize, twoProportionZTest, welchTTest } from '@flagstream/stats';

/** A guardrail as given with a release plan; everything but `metric` has a default. */
export interface GuardrailInput {
  /** The metric events' name (what the SDK sends, e.g. `checkout.errors`). */
  metric: string;
  /** `rate` (default): share of exposed units that sent the metric at least once. `mean`: the metric's total per exposed unit. */
  statistic?: GuardrailStatistic;
  /** `control` (default): the treatment against units served anything else. `absolute`: the treatment against `threshold`. */
  comparison?: GuardrailComparison;
  /** Which direction is bad (default `higher`: errors, latency). */
  worseWhen?: 'higher' | 'lower';
  /** Required with `absolute`: the treatment's rate or mean past this is a breach. */
  threshold?: number;
  /** With `control`: a worsening up to this relative change (0.1 = 10%) is tolerated even when significant. Default 0. */
  maxRelativeChange?: number;
  /** With `control`: the one-sided significance level. Default 0.01. */
  alpha?: number;
  /** How far back events count (from the evaluation, never before the current milestone or a resume). Default 3600. */
  windowSeconds?: number;
  /** Units each compared group needs before a verdict. Default 100. */
  minSampleSize?: number;
  /** Where a breach sends the flag: the previous milestone (default; before the first one, the settings before the plan) or off. */
  rollback?: GuardrailRollback;
  /** Whose events count: `server` (default: server SDK keys only; client keys are public, anyone could send) or `all`. */
  eventSources?: 'server' | 'all';
}

export const MAX_GUARDRAILS = 10;
export const GUARDRAIL_DEFAULTS = { statistic: 'rate', comparison: 'control', worseWhen: 'higher', maxRelativeChange: 0, alpha: 0.01, windowSeconds: 3600, minSampleSize: 100, rollback: 'previous-milestone', eventSources: 'server' } as const;
/** The window is at most 7 days (events are kept by day partitions; a guardrail watches recent data). */
export const MAX_GUARDRAIL_WINDOW_SECONDS = 7 * 24 * 3600;

/** One group's numbers as reported: units and its rate or mean. */
export interface GuardrailGroup {
  units: number;
  /** The rate (0..1) or mean; null without units. */
  value: number | null;
}

/** The worker's verdict on one guardrail, stored with it and shown in the plan's status. */
export interface GuardrailEvaluation {
  status: 'ok' | 'breached' | 'insufficient-data';
  treatment: GuardrailGroup;
  control: GuardrailGroup;
  /** Units that saw the treatment and another variation in the window: excluded from both groups. */
  mixedUnits: number;
  /** One-sided p-value of "the treatment is worse" (comparison `control` only). */
  pValue: number | null;
  /** (treatment - control) / control; null without a control value or when it is 0. */
  relativeChange: number | null;
  /** One sentence for people: the numbers and why this verdict. */
  reason: string;
  since: string;
  until: string;
}

/** A guardrail as the API shows it: its settings and last verdict. */
export interface GuardrailView extends Required<Omit<GuardrailInput, 'threshold'>> {
  threshold: number | null;
  lastEvaluation: GuardrailEvaluation | null;
  lastEvaluatedAt: string | null;
}

/** Problems of the guardrails given with a plan, with their paths (`guardrails.0.alpha`). */
export function guardrailProblems(guardrails: readonly GuardrailInput[] | undefined): ErrorDetail[] {
  if (guardrails === undefined) return [];
  if (!Array.isArray(guardrails) || guardrails.length > MAX_GUARDRAILS) return [{ path: 'guardrails', message: `must hold at most ${MAX_GUARDRAILS} guardrails` }];
  const out: ErrorDetail[] = [];
  guardrails.forEach((g, i) => {
    const at = `guardrails.${i}`;
    if (typeof g.metric !== 'string' || !METRIC_NAME_PATTERN.test(g.metric)) out.push({ path: `${at}.metric`, message: `must match ${METRIC_NAME_PATTERN.source}` });
    const comparison = g.comparison ?? GUARDRAIL_DEFAULTS.comparison;
    if (comparison === 'absolute' && (typeof g.threshold !== 'number' || !Number.isFinite(g.threshold))) out.push({ path: `${at}.threshold`, message: 'required (a finite number) when comparison is "absolute"' });
    if (comparison === 'control' && g.threshold !== undefined) out.push({ path: `${at}.threshold`, message: 'only with comparison "absolute"; against the control use maxRelativeChange' });
    if (comparison === 'absolute' && (g.alpha !== undefined || g.maxRelativeChange !== undefined)) out.push({ path: at, message: 'alpha and maxRelativeChange only apply to comparison "control"' });
    const oneOf = (field: keyof GuardrailInput, allowed: readonly string[]) => {
      const v = g[field];
      if (v !== undefined && !allowed.includes(v as string)) out.push({ path: `${at}.${field}`, message: `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}` });
    };
    oneOf('statistic', ['rate', 'mean']);
    oneOf('comparison', ['control', 'absolute']);
    oneOf('worseWhen', ['higher', 'lower']);
    oneOf('rollback', ['previous-milestone', 'off']);
    oneOf('eventSources', ['server', 'all']);
    if (g.alpha !== undefined && !(typeof g.alpha === 'number' && g.alpha > 0 && g.alpha < 0.5)) out.push({ path: `${at}.alpha`, message: 'must be more than 0 and less than 0.5' });
    if (g.maxRelativeChange !== undefined && !(typeof g.maxRelativeChange === 'number' && Number.isFinite(g.maxRelativeChange) && g.maxRelativeChange >= 0)) out.push({ path: `${at}.maxRelativeChange`, message: 'must be a number of at least 0 (0.1 tolerates 10%)' });
    if (g.windowSeconds !== undefined && !(Number.isInteger(g.windowSeconds) && g.windowSeconds >= 10 && g.windowSeconds <= MAX_GUARDRAIL_WINDOW_SECONDS)) out.push({ path: `${at}.windowSeconds`, message: `must be a whole number of seconds from 10 to ${MAX_GUARDRAIL_WINDOW_SECONDS}` });
    if (g.minSampleSize !== undefined && !(Number.isInteger(g.minSampleSize) && g.minSampleSize >= 1 && g.minSampleSize <= 10_000_000)) out.push({ path: `${at}.minSampleSize`, message: 'must be a whole number from 1 to 10,000,000' });
    if ((g.statistic ?? GUARDRAIL_DEFAULTS.statistic) === 'rate' && comparison === 'absolute' && typeof g.threshold === 'number' && !(g.threshold >= 0 && g.threshold <= 1)) out.push({ path: `${at}.threshold`, message: 'a rate threshold is between 0 and 1' });
  });
  return out;
}

/** The stored row of a guardrail, defaults applied. */
export function guardrailRow(g: GuardrailInput, position: number): NewReleasePlanGuardrail {
  const d = GUARDRAIL_DEFAULTS;
  const comparison = g.comparison ?? d.comparison;
  return {
    position,
    metric: g.metric,
    statistic: g.statistic ?? d.statistic,
    comparison,
    worseWhen: g.worseWhen ?? d.worseWhen,
    threshold: comparison === 'absolute' ? g.threshold! : null,
    maxRelativeChange: comparison === 'control' ? (g.maxRelativeChange ?? d.maxRelativeChange) : null,
    alpha: g.alpha ?? d.alpha,
    windowSeconds: g.windowSeconds ?? d.windowSeconds,
    minSampleSize: g.minSampleSize ?? d.minSampleSize,
    rollback: g.rollback ?? d.rollback,
    eventSources: g.eventSources ?? d.eventSources,
  };
}

export function guardrailView(row: ReleasePlanGuardrailEntity): GuardrailView {
  return {
    metric: row.metric,
    statistic: row.statistic,
    comparison: row.comparison,
    worseWhen: row.worseWhen,
    threshold: row.threshold,
    maxRelativeChange: row.maxRelativeChange ?? 0,
    alpha: row.alpha,
    windowSeconds: row.windowSeconds,
    minSampleSize: row.minSampleSize,
    rollback: row.rollback,
    eventSources: row.eventSources,
    lastEvaluation: (row.lastEvaluation as GuardrailEvaluation | null) ?? null,
    lastEvaluatedAt: row.lastEvaluatedAt?.toISOString() ?? null,
  };
}

/** The settings `evaluateGuardrail` needs (a stored row has them all). */
export type GuardrailSpec = Pick<ReleasePlanGuardrailEntity, 'metric' | 'statistic' | 'comparison' | 'worseWhen' | 'threshold' | 'maxRelativeChange' | 'alpha' | 'minSampleSize'>;

/**
 * The verdict on one guardrail from the groups' totals (pure). With comparison `control` it is a
 * breach when the treatment is worse with a one-sided p-value below `alpha` (two-proportion z-test
 * for rates, Welch's t-test for means) and the relative change is worse than `maxRelativeChange`;
 * with `absolute`, when the treatment's observed value is past `threshold`. Either needs
 * `minSampleSize` units in every group it looks at, or the verdict is `insufficient-data`.
 */
export function evaluateGuardrail(spec: GuardrailSpec, sample: ExposureSample, window: { since: Date; until: Date }): GuardrailEvaluation {
  const treatment = groupOf(spec.statistic, sample.treatment);
  const control = groupOf(spec.statistic, sample.control);
  const base = { treatment, control, mixedUnits: sample.mixedUnits, since: window.since.toISOString(), until: window.until.toISOString() };
  const relativeChange = treatment.value !== null && control.value ? (treatment.value - control.value) / control.value : null;
  if (![sample.treatment, sample.control].every((t) => Number.isFinite(t.sum) && Number.isFinite(t.sumOfSquares))) {
    return { ...base, status: 'insufficient-data', pValue: null, relativeChange: null, reason: `${spec.metric}: metric values too large to compare` };
  }
  const show = (v: number | null) => (v === null ? 'n/a' : spec.statistic === 'rate' ? `${(v * 100).toPrecision(3)}%` : v.toPrecision(4));
  const what = `${spec.metric} ${spec.statistic}`;
  const higherIsWorse = spec.worseWhen === 'higher';

  if (spec.comparison === 'absolute') {
    if (sample.treatment.units < spec.minSampleSize) {
      return { ...base, status: 'insufficient-data', pValue: null, relativeChange, reason: `${sample.treatment.units} of ${spec.minSampleSize} units needed in the treatment` };
    }
    const v = treatment.value!;
    const breached = higherIsWorse ? v > spec.threshold! : v < spec.threshold!;
    const reason = `${what} in the treatment is ${show(v)} over ${treatment.units} units, ${breached ? 'past' : 'within'} the threshold ${show(spec.threshold)} (${spec.worseWhen} is worse)`;
    return { ...base, status: breached ? 'breached' : 'ok', pValue: null, relativeChange, reason };
  }

  const short = Math.min(sample.treatment.units, sample.control.units);
  if (short < spec.minSampleSize) {
    return { ...base, status: 'insufficient-data', pValue: null, relativeChange, reason: `${sample.treatment.units} treatment and ${sample.control.units} control units; ${spec.minSampleSize} needed in each` };
  }
  const alternative = higherIsWorse ? 'greater' : 'less';
  const pValue =
    spec.statistic === 'rate'
      ? twoProportionZTest({ units: sample.control.units, successes: sample.control.unitsWithEvents }, { units: sample.treatment.units, successes: sample.treatment.unitsWithEvents }, alternative).pValue
      : welchTTest(summaryOf(sample.control), summaryOf(sample.treatment), alternative).pValue;
  const tolerance = spec.maxRelativeChange ?? 0;
  // Worse by more than the tolerance; a control at 0 makes any worsening infinitely large.
  const worseBeyondTolerance =
    relativeChange === null
      ? treatment.value !== null && control.value === 0 && (higherIsWorse ? treatment.value > 0 : treatment.value < 0)
      : higherIsWorse
        ? relativeChange > tolerance
        : relativeChange < -tolerance;
  const breached = pValue < spec.alpha && worseBeyondTolerance;
  const change = relativeChange === null ? '' : ` (${relativeChange >= 0 ? '+' : ''}${(relativeChange * 100).toPrecision(3)}%)`;
  const verdict = breached ? `worse beyond ${(tolerance * 100).toPrecision(3)}% with p = ${pValue.toPrecision(3)} < ${spec.alpha}` : `not significantly worse (p = ${pValue.toPrecision(3)}, alpha ${spec.alpha}${worseBeyondTolerance ? '' : `, tolerance ${(tolerance * 100).toPrecision(3)}%`})`;
  const reason = `${what}: treatment ${show(treatment.value)} over ${treatment.units} units vs control ${show(control.value)} over ${control.units} units${change}, ${verdict}`;
  return { ...base, status: breached ? 'breached' : 'ok', pValue, relativeChange, reason };
}

function groupOf(statistic: GuardrailStatistic, t: GroupTotals): GuardrailGroup {
  if (!t.units) return { units: 0, value: null };
  return { units: t.units, value: statistic === 'rate' ? t.unitsWithEvents / t.units : t.sum / t.units };
}

function summaryOf(t: GroupTotals): { n: number; mean: number; variance: number } {
  return summarize(t.units, t.sum, t.sumOfSquares);
}
