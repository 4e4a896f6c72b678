import { betaBinomialComparison, normalMeanComparison, type BayesianComparisonResult, type CredibleInterval } from './bayesian.comparison';
import { meanConfidenceSequence, proportionConfidenceSequence, type ConfidenceSequenceResult } from './confidence.sequence';
import { holmBonferroni } from './holm.correction';
import { meanZTest } from './mean.z-test';
import { meanMinimumDetectableEffect, proportionMinimumDetectableEffect } from './power.analysis';
import { summarizeRatio, type RatioSums } from './ratio.summary';
import { sampleRatioMismatch } from './sample-ratio.mismatch';
import { summarize, type SampleSummary } from './sample.summary';
import { twoProportionZTest } from './two-proportion.z-test';
import { meanUplift, normalMeanUplift, proportionUplift, type EffectInterval, type UpliftResult } from './uplift.interval';
import { welchTTest } from './welch.t-test';

/**
 * A metric's totals per variation (keyed by variation key), in one of three kinds. Every kind
 * counts randomisation units (the things assigned to a variation, usually users), because the
 * statistics assume independent units:
 *
 * - `conversion`: units, and how many of them converted (a unit counts once however often it converts).
 * - `mean`: the mean over units of a per-unit value x (revenue per user, sessions per user): n is
 *   the number of units, Σx and Σx² are over units, not over events. Whether exposed units with no
 *   events count with x = 0 (revenue per exposed user) or are left out (revenue per paying user)
 *   is the caller's choice, made by what it sums; the statistics read whatever n and sums they get.
 *   A mean over events (latency per request) is not a `mean`: its events are not independent; use `ratio`.
 * - `ratio`: Σx / Σy over units, x a unit's numerator and y its denominator (latency per request:
 *   x = the unit's summed latency, y = its number of requests), with the delta-method variance
 *   over units ({@link summarizeRatio}); units with y = 0 count in n and add nothing else.
 */
export type MetricTotals =
  | { kind: 'conversion'; byVariation: Record<string, { units: number; conversions: number }> }
  | { kind: 'mean'; byVariation: Record<string, { n: number; sum: number; sumOfSquares: number }> }
  | { kind: 'ratio'; byVariation: Record<string, RatioSums> };

export interface ExperimentMetricInput {
  key: string;
  role: 'primary' | 'secondary' | 'guardrail';
  lowerIsBetter?: boolean;
  totals: MetricTotals;
}

export interface ExperimentAnalysisInput {
  /** The control variation's key. */
  control: string;
  /** Every variation in the experiment (control included): its configured weight and its counted units. */
  variations: Array<{ key: string; weight: number; units: number }>;
  /** Units exposed to more than one variation (left out of every count). */
  multipleExposureUnits?: number;
  metrics: ExperimentMetricInput[];
  /** Significance level of the tests (two-sided), 0.05 by default; intervals are at 1 - alpha. */
  alpha?: number;
  /** A variation with fewer counted units is flagged; 100 by default. */
  minUnitsPerVariation?: number;
  /** The confidence sequences' tuning sample size (the expected total units); 5,000 by default. */
  expectedUnits?: number;
}

/** One treatment against control on one metric. */
export interface TreatmentResult {
  variation: string;
  units: number;
  /** Rate (conversions), mean, or ratio Σx/Σy; null when it is undefined (no units, or Σy = 0 for a ratio). */
  value: number | null;
  absolute: EffectInterval;
  relative: EffectInterval;
  /** Fixed-horizon two-sided p-value (two-proportion z-test, Welch's t-test for means, z-test for ratios); 1 when the data cannot decide. */
  pValue: number;
  /** Holm-adjusted across the treatments of this metric. */
  adjustedPValue: number;
  /** Always-valid interval and p-value (looking every day does not inflate false positives). */
  sequential: { lower: number | null; upper: number | null; pValue: number };
  chanceToBeatControl: number | null;
  expectedLossTreatment: number | null;
  expectedLossControl: number | null;
  credible: { absolute: CredibleInterval; relative: CredibleInterval };
  /** better/worse: significant after Holm in that direction (`lowerIsBetter` decides which is better); else inconclusive. */
  verdict: 'better' | 'worse' | 'inconclusive';
}

export interface MetricResult {
  key: string;
  role: ExperimentMetricInput['role'];
  kind: MetricTotals['kind'];
  lowerIsBetter: boolean;
  control: { units: number; value: number | null };
  treatments: TreatmentResult[];
  /** For the primary metric: the smallest effect the current sample detects with 80% power (per treatment, the smallest arm). */
  minimumDetectableEffect: { absolute: number; relative: number | null } | null;
}

export interface ExperimentAnalysis {
  health: {
    sampleRatioMismatch: { pValue: number; mismatch: boolean; expectedShares: Record<string, number>; observedShares: Record<string, number> };
    multipleExposures: { units: number; share: number; flagged: boolean };
    tooFewUnits: string[];
  };
  metrics: MetricResult[];
}

/** Share of counted units exposed to several variations above which the experiment is flagged. */
const MULTIPLE_EXPOSURE_FLAG = 0.01;

/**
 * The read-out of an experiment from per-variation totals (pure): health (sample ratio mismatch
 * by chi-square against the configured weights, flagged below p = 0.001; multiple exposures; too
 * few units), then for every metric and treatment the frequentist comparison (two-sided z-test,
 * Welch's t-test for means, delta-method intervals, Holm across treatments), the always-valid confidence
 * sequence, the Bayesian read-out (chance to beat control, expected losses, credible intervals)
 * and, for the primary metric, the minimum detectable effect of the current sample.
 */
export function analyzeExperiment(input: ExperimentAnalysisInput): ExperimentAnalysis {
  const alpha = input.alpha ?? 0.05;
  const level = 1 - alpha;
  const min = input.minUnitsPerVariation ?? 100;
  const treatments = input.variations.filter((v) => v.key !== input.control);
  if (!input.variations.some((v) => v.key === input.control)) throw new RangeError(`control "${input.control}" is not one of the variations`);
  if (!treatments.length) throw new RangeError('an experiment needs at least one treatment');

  const totalWeight = input.variations.reduce((s, v) => s + v.weight, 0);
  const totalUnits = input.variations.reduce((s, v) => s + v.units, 0);
  const srm = totalUnits > 0 ? sampleRatioMismatch(input.variations.map((v) => v.units), input.variations.map((v) => v.weight)) : { pValue: 1, mismatch: false };
  const multiple = input.multipleExposureUnits ?? 0;
  const health: ExperimentAnalysis['health'] = {
    sampleRatioMismatch: {
      ...srm,
      expectedShares: Object.fromEntries(input.variations.map((v) => [v.key, v.weight / totalWeight])),
      observedShares: Object.fromEntries(input.variations.map((v) => [v.key, totalUnits ? v.units / totalUnits : 0])),
    },
    multipleExposures: { units: multiple, share: totalUnits + multiple ? multiple / (totalUnits + multiple) : 0, flagged: totalUnits + multiple > 0 && multiple / (totalUnits + multiple) > MULTIPLE_EXPOSURE_FLAG },
    tooFewUnits: input.variations.filter((v) => v.units < min).map((v) => v.key),
  };

  const metrics = input.metrics.map((m) => analyzeMetric(m, input.control, treatments.map((t) => t.key), { alpha, level, expectedUnits: input.expectedUnits ?? 5000 }));
  return { health, metrics };
}

function analyzeMetric(m: ExperimentMetricInput, control: string, treatments: string[], o: { alpha: number; level: number; expectedUnits: number }): MetricResult {
  const lowerIsBetter = m.lowerIsBetter ?? false;
  const totals = m.totals;
  const rows = treatments.map((t): Row => {
    switch (totals.kind) {
      case 'conversion':
        return conversionRow(totals, control, t, lowerIsBetter, o);
      case 'mean':
        return meanRow(totals, control, t, lowerIsBetter, o);
      case 'ratio':
        return ratioRow(totals, m.key, control, t, lowerIsBetter, o);
    }
  });
  const adjusted = holmBonferroni(rows.map((r) => r.pValue));
  const out: TreatmentResult[] = rows.map((r, i) => {
    const significant = adjusted[i] < o.alpha && r.absolute.estimate !== null && r.absolute.estimate !== 0;
    const up = (r.absolute.estimate ?? 0) > 0;
    const verdict: TreatmentResult['verdict'] = !significant ? 'inconclusive' : up !== lowerIsBetter ? 'better' : 'worse';
    return { ...r, adjustedPValue: adjusted[i], verdict };
  });
  const controlSide = controlValue(totals, m.key, control);
  return {
    key: m.key,
    role: m.role,
    kind: m.totals.kind,
    lowerIsBetter,
    control: controlSide,
    treatments: out,
    minimumDetectableEffect: m.role === 'primary' ? mde(totals, m.key, control, treatments, o.alpha) : null,
  };
}

type Row = Omit<TreatmentResult, 'adjustedPValue' | 'verdict'>;

function conversionRow(t: Extract<MetricTotals, { kind: 'conversion' }>, control: string, treatment: string, lowerIsBetter: boolean, o: { level: number; alpha: number; expectedUnits: number }): Row {
  const c = sampleOf(t.byVariation[control], control);
  const x = sampleOf(t.byVariation[treatment], treatment);
  return rowOf(treatment, x.units, rateOf(t.byVariation[treatment]).value, {
    uplift: proportionUplift(c, x, { confidenceLevel: o.level }),
    pValue: twoProportionZTest(c, x, 'two-sided').pValue,
    sequence: proportionConfidenceSequence(c, x, { alpha: o.alpha, tuningSampleSize: o.expectedUnits }),
    bayes: betaBinomialComparison(c, x, { credibleLevel: o.level, lowerIsBetter }),
  });
}

function meanRow(t: Extract<MetricTotals, { kind: 'mean' }>, control: string, treatment: string, lowerIsBetter: boolean, o: { level: number; alpha: number; expectedUnits: number }): Row {
  const c = summaryOf(t.byVariation[control], control);
  const x = summaryOf(t.byVariation[treatment], treatment);
  return rowOf(treatment, x.n, meanOf(t.byVariation[treatment]).value, {
    uplift: meanUplift(c, x, { confidenceLevel: o.level }),
    pValue: welchTTest(c, x, 'two-sided').pValue,
    sequence: meanConfidenceSequence(c, x, { alpha: o.alpha, tuningSampleSize: o.expectedUnits }),
    bayes: normalMeanComparison(c, x, { credibleLevel: o.level, lowerIsBetter }),
  });
}

/**
 * A ratio metric: the delta-method summaries ({@link summarizeRatio}) read with the normal (z-test,
 * z intervals), the confidence sequence and the normal Bayesian comparison of means. Σy = 0 in
 * either arm leaves the ratio undefined: the row is inconclusive with nulls, not NaN.
 */
function ratioRow(t: Extract<MetricTotals, { kind: 'ratio' }>, metric: string, control: string, treatment: string, lowerIsBetter: boolean, o: { level: number; alpha: number; expectedUnits: number }): Row {
  const c = ratioSummaryOf(t, metric, control);
  const x = ratioSummaryOf(t, metric, treatment);
  const value = Number.isNaN(x.mean) ? null : x.mean;
  if (Number.isNaN(c.mean) || value === null) return undefinedRow(treatment, x.n, value);
  return rowOf(treatment, x.n, value, {
    uplift: normalMeanUplift(c, x, { confidenceLevel: o.level }),
    pValue: meanZTest(c, x, 'two-sided').pValue,
    sequence: meanConfidenceSequence(c, x, { alpha: o.alpha, tuningSampleSize: o.expectedUnits }),
    bayes: normalMeanComparison(c, x, { credibleLevel: o.level, lowerIsBetter }),
  });
}

/** A row without a comparison: the data do not define one (p-values 1, so the verdict is inconclusive). */
function undefinedRow(variation: string, units: number, value: number | null): Row {
  const none = { estimate: null, standardError: null, lower: null, upper: null };
  return {
    variation,
    units,
    value,
    absolute: none,
    relative: { ...none },
    pValue: 1,
    sequential: { lower: null, upper: null, pValue: 1 },
    chanceToBeatControl: null,
    expectedLossTreatment: null,
    expectedLossControl: null,
    credible: { absolute: { estimate: null, lower: null, upper: null }, relative: { estimate: null, lower: null, upper: null } },
  };
}

/** One treatment's row from its four read-outs (the same shape for every kind). */
function rowOf(
  variation: string,
  units: number,
  value: number | null,
  r: { uplift: UpliftResult; pValue: number; sequence: ConfidenceSequenceResult; bayes: BayesianComparisonResult },
): Row {
  return {
    variation,
    units,
    value,
    absolute: r.uplift.absolute,
    relative: r.uplift.relative,
    pValue: r.pValue,
    sequential: { lower: r.sequence.lower, upper: r.sequence.upper, pValue: r.sequence.pValue },
    chanceToBeatControl: r.bayes.chanceToBeatControl,
    expectedLossTreatment: r.bayes.expectedLossTreatment,
    expectedLossControl: r.bayes.expectedLossControl,
    credible: { absolute: r.bayes.absolute, relative: r.bayes.relative },
  };
}

/** The smallest two-sided effect the current sample detects with 80% power, against the smallest treatment arm. */
function mde(t: MetricTotals, metric: string, control: string, treatments: string[], alpha: number): MetricResult['minimumDetectableEffect'] {
  if (t.kind === 'ratio') {
    // Normal approximation with the delta-method per-unit variances, as for a mean.
    const c = ratioSummaryOf(t, metric, control);
    const smallest = treatments.map((k) => ratioSummaryOf(t, metric, k)).sort((a, b) => a.n - b.n)[0];
    if (c.n < 2 || smallest.n < 2 || !(c.variance > 0) || !(smallest.variance > 0)) return null;
    return meanMinimumDetectableEffect({ controlVariance: c.variance, treatmentVariance: smallest.variance, controlN: c.n, treatmentN: smallest.n, controlMean: c.mean }, { alpha, alternative: 'two-sided', power: 0.8 });
  }
  if (t.kind === 'conversion') {
    const c = t.byVariation[control];
    const smallest = Math.min(...treatments.map((k) => t.byVariation[k]?.units ?? 0));
    // A control rate of 0 or 1 has no spread to power a test with (early in an experiment).
    if (!c || c.units < 1 || smallest < 1 || c.conversions <= 0 || c.conversions >= c.units) return null;
    const r = proportionMinimumDetectableEffect({ controlRate: c.conversions / c.units, controlUnits: c.units, treatmentUnits: smallest }, { alpha, alternative: 'two-sided', power: 0.8 });
    return r ? { absolute: r.absolute, relative: r.relative } : null;
  }
  const c = t.byVariation[control] ? summarize(t.byVariation[control].n, t.byVariation[control].sum, t.byVariation[control].sumOfSquares) : null;
  const smallest = treatments.map((k) => t.byVariation[k]).filter(Boolean).sort((a, b) => a.n - b.n)[0];
  if (!c || !smallest || c.n < 2 || smallest.n < 2) return null;
  const x = summarize(smallest.n, smallest.sum, smallest.sumOfSquares);
  // A constant arm (variance 0) leaves the power functions without a spread to work with.
  if (!(c.variance > 0) || !(x.variance > 0)) return null;
  return meanMinimumDetectableEffect({ controlVariance: c.variance, treatmentVariance: x.variance, controlN: c.n, treatmentN: x.n, controlMean: c.mean }, { alpha, alternative: 'two-sided', power: 0.8 });
}

function sampleOf(v: { units: number; conversions: number } | undefined, key: string): { units: number; successes: number } {
  if (!v) throw new RangeError(`metric totals have no entry for variation "${key}"`);
  return { units: v.units, successes: v.conversions };
}

function summaryOf(v: { n: number; sum: number; sumOfSquares: number } | undefined, key: string): SampleSummary {
  if (!v) throw new RangeError(`metric totals have no entry for variation "${key}"`);
  return summarize(v.n, v.sum, v.sumOfSquares);
}

function ratioSummaryOf(t: Extract<MetricTotals, { kind: 'ratio' }>, metric: string, key: string): SampleSummary {
  const v = t.byVariation[key];
  if (!v) throw new RangeError(`metric totals have no entry for variation "${key}"`);
  return summarizeRatio(v, `${metric}.byVariation.${key}`);
}

function controlValue(t: MetricTotals, metric: string, control: string): MetricResult['control'] {
  switch (t.kind) {
    case 'conversion':
      return rateOf(t.byVariation[control]);
    case 'mean':
      return meanOf(t.byVariation[control]);
    case 'ratio': {
      if (!t.byVariation[control]) return { units: 0, value: null };
      const summary = ratioSummaryOf(t, metric, control);
      return { units: summary.n, value: Number.isNaN(summary.mean) ? null : summary.mean };
    }
  }
}

function rateOf(v: { units: number; conversions: number } | undefined): { units: number; value: number | null } {
  return { units: v?.units ?? 0, value: v && v.units ? v.conversions / v.units : null };
}

function meanOf(v: { n: number; sum: number } | undefined): { units: number; value: number | null } {
  return { units: v?.n ?? 0, value: v && v.n ? v.sum / v.n : null };
}
