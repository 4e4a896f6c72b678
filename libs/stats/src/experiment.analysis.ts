import { betaBinomialComparison, normalMeanComparison, type BayesianComparisonResult, type CredibleInterval } from './bayesian.comparison';
import { meanConfidenceSequence, proportionConfidenceSequence, type ConfidenceSequenceResult } from './confidence.sequence';
import { holmBonferroni } from './holm.correction';
import { meanMinimumDetectableEffect, proportionMinimumDetectableEffect } from './power.analysis';
import { sampleRatioMismatch } from './sample-ratio.mismatch';
import { summarize, type SampleSummary } from './sample.summary';
import { twoProportionZTest } from './two-proportion.z-test';
import { meanUplift, proportionUplift, type EffectInterval, type UpliftResult } from './uplift.interval';
import { welchTTest } from './welch.t-test';

/** A metric's totals per variation: units and converted units, or a per-unit value's n, Σx, Σx². */
export type MetricTotals =
  | { kind: 'conversion'; byVariation: Record<string, { units: number; conversions: number }> }
  | { kind: 'mean'; byVariation: Record<string, { n: number; sum: number; sumOfSquares: number }> };

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
  /** Rate (conversions) or mean. */
  value: number | null;
  absolute: EffectInterval;
  relative: EffectInterval;
  /** Fixed-horizon two-sided p-value (z-test or Welch's t-test). */
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
 * few units), then for every metric and treatment the frequentist comparison (two-sided z-test or
 * Welch's t-test, delta-method intervals, Holm across treatments), the always-valid confidence
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
  const rows = treatments.map((t) => (m.totals.kind === 'conversion' ? conversionRow(m.totals, control, t, lowerIsBetter, o) : meanRow(m.totals, control, t, lowerIsBetter, o)));
  const adjusted = holmBonferroni(rows.map((r) => r.pValue));
  const out: TreatmentResult[] = rows.map((r, i) => {
    const significant = adjusted[i] < o.alpha && r.absolute.estimate !== null && r.absolute.estimate !== 0;
    const up = (r.absolute.estimate ?? 0) > 0;
    const verdict: TreatmentResult['verdict'] = !significant ? 'inconclusive' : up !== lowerIsBetter ? 'better' : 'worse';
    return { ...r, adjustedPValue: adjusted[i], verdict };
  });
  const controlSide = m.totals.kind === 'conversion' ? rateOf(m.totals.byVariation[control]) : meanOf(m.totals.byVariation[control]);
  return {
    key: m.key,
    role: m.role,
    kind: m.totals.kind,
    lowerIsBetter,
    control: controlSide,
    treatments: out,
    minimumDetectableEffect: m.role === 'primary' ? mde(m.totals, control, treatments, o.alpha) : null,
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

/** One treatment's row from its four read-outs (the same shape for conversions and means). */
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
function mde(t: MetricTotals, control: string, treatments: string[], alpha: number): MetricResult['minimumDetectableEffect'] {
  if (t.kind === 'conversion') {
    const c = t.byVariation[control];
    const smallest = Math.min(...treatments.map((k) => t.byVariation[k]?.units ?? 0));
    if (!c || c.units < 1 || smallest < 1) return null;
    const r = proportionMinimumDetectableEffect({ controlRate: c.conversions / c.units, controlUnits: c.units, treatmentUnits: smallest }, { alpha, alternative: 'two-sided', power: 0.8 });
    return r ? { absolute: r.absolute, relative: r.relative } : null;
  }
  const c = t.byVariation[control] ? summarize(t.byVariation[control].n, t.byVariation[control].sum, t.byVariation[control].sumOfSquares) : null;
  const smallest = treatments.map((k) => t.byVariation[k]).filter(Boolean).sort((a, b) => a.n - b.n)[0];
  if (!c || !smallest || c.n < 2 || smallest.n < 2 || !Number.isFinite(c.variance)) return null;
  const x = summarize(smallest.n, smallest.sum, smallest.sumOfSquares);
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

function rateOf(v: { units: number; conversions: number } | undefined): { units: number; value: number | null } {
  return { units: v?.units ?? 0, value: v && v.units ? v.conversions / v.units : null };
}

function meanOf(v: { n: number; sum: number } | undefined): { units: number; value: number | null } {
  return { units: v?.n ?? 0, value: v && v.n ? v.sum / v.n : null };
}
