import { normalQuantile, studentTQuantile } from './distribution.functions';
import { requireOpenProbability } from './input.validation';
import type { SampleSummary } from './sample.summary';
import { type ProportionSample, requireProportionSample } from './two-proportion.z-test';
import { requireSampleSummary, welchDegreesOfFreedom } from './welch.t-test';

/**
 * A point estimate with its standard error and a two-sided interval. A quantity the data do not
 * define is `null`, never NaN. The bounds are also `null` when the standard error is 0: a
 * zero-width interval would claim a certainty that a handful of identical observations does not give.
 */
export interface EffectInterval {
  estimate: number | null;
  standardError: number | null;
  lower: number | null;
  upper: number | null;
}

/**
 * The outcome of {@link proportionUplift}, {@link meanUplift} and {@link normalMeanUplift}: the effect of the treatment as a
 * difference (treatment - control, in the metric's units) and relative to control.
 */
export interface UpliftResult {
  /** The two-sided confidence level of both intervals, as passed in. */
  confidenceLevel: number;
  /** treatment - control. */
  absolute: EffectInterval;
  /** (treatment - control) / |control|; null throughout when the control rate or mean is 0 or unknown. */
  relative: EffectInterval;
}

/** {@link UpliftResult} for means, which also reports the t distribution its absolute interval used. */
export interface MeanUpliftResult extends UpliftResult {
  /** Welch–Satterthwaite degrees of freedom of the absolute interval; null when it has no bounds. */
  degreesOfFreedom: number | null;
}

/** Options of the uplift functions. */
export interface UpliftOptions {
  /** Two-sided confidence level in (0, 1); 0.95 by default. */
  confidenceLevel?: number;
}

const NO_ESTIMATE: EffectInterval = { estimate: null, standardError: null, lower: null, upper: null };

function interval(estimate: number, standardError: number, critical: number): EffectInterval {
  if (standardError === 0) return { estimate, standardError, lower: null, upper: null };
  return { estimate, standardError, lower: estimate - critical * standardError, upper: estimate + critical * standardError };
}

/**
 * The delta-method standard error of (m_t - m_c) / |m_c| for independent arm means with variances
 * v_c and v_t (each already divided by its n):
 *
 *   Var ≈ v_t / m_c² + m_t² · v_c / m_c⁴
 *
 * (first-order Taylor expansion of m_t / m_c around the true means; the sign of m_c squares away).
 */
function relativeStandardError(controlMean: number, treatmentMean: number, controlVariance: number, treatmentVariance: number): number {
  const c2 = controlMean * controlMean;
  return Math.sqrt(treatmentVariance / c2 + (treatmentMean * treatmentMean * controlVariance) / (c2 * c2));
}

function criticalNormal(confidenceLevel: number): number {
  // -Φ⁻¹((1 - level)/2) rather than Φ⁻¹(1 - (1 - level)/2): the lower tail keeps its precision.
  return -normalQuantile((1 - confidenceLevel) / 2);
}

function requireConfidenceLevel(options: UpliftOptions): number {
  const confidenceLevel = options.confidenceLevel ?? 0.95;
  requireOpenProbability('confidenceLevel', confidenceLevel);
  return confidenceLevel;
}

/**
 * How much a rate moved, with confidence intervals, for the "by how much, how sure" line of an
 * experiment report. With p_c = s_c/n_c and p_t = s_t/n_t, v_c = p_c(1 - p_c)/n_c, v_t = p_t(1 - p_t)/n_t
 * and z = Φ⁻¹(1 - (1 - level)/2):
 *
 *   absolute:  d = p_t - p_c,          SE = √(v_c + v_t),                       d ± z·SE   (Wald)
 *   relative:  r = (p_t - p_c) / p_c,  SE = √(v_t/p_c² + p_t²·v_c/p_c⁴),         r ± z·SE   (delta method)
 *
 * The standard errors are unpooled (they describe the estimate, not the null hypothesis), so the
 * absolute interval can disagree with the pooled z-test at the edge of significance. The relative
 * interval also carries the uncertainty of p_c in its denominator, so it may include 0 while the
 * absolute one does not (100/2000 against 130/2000: +0.06 to +2.9 points, but -3% to +63%). Both intervals
 * are large-sample approximations: they want roughly 5 or more successes and failures per arm, and
 * the symmetric relative interval understates the upper side when the control has only a few
 * dozen successes (the ratio is skewed there).
 *
 * An empty arm gives null throughout; a control rate of 0 gives a null relative uplift; a standard
 * error of 0 (every unit in both arms succeeded or none did) gives null bounds.
 * @throws RangeError when a count is invalid, successes exceed units, or confidenceLevel is not in (0, 1).
 */
export function proportionUplift(control: ProportionSample, treatment: ProportionSample, options: UpliftOptions = {}): UpliftResult {
  requireProportionSample('control', control);
  requireProportionSample('treatment', treatment);
  const confidenceLevel = requireConfidenceLevel(options);
  if (control.units === 0 || treatment.units === 0) return { confidenceLevel, absolute: NO_ESTIMATE, relative: NO_ESTIMATE };

  const controlRate = control.successes / control.units;
  const treatmentRate = treatment.successes / treatment.units;
  const controlVariance = (controlRate * (1 - controlRate)) / control.units;
  const treatmentVariance = (treatmentRate * (1 - treatmentRate)) / treatment.units;
  const z = criticalNormal(confidenceLevel);
  const difference = treatmentRate - controlRate;
  const absolute = interval(difference, Math.sqrt(controlVariance + treatmentVariance), z);
  const relative =
    controlRate === 0
      ? NO_ESTIMATE
      : interval(difference / controlRate, relativeStandardError(controlRate, treatmentRate, controlVariance, treatmentVariance), z);
  return { confidenceLevel, absolute, relative };
}

/**
 * How much a mean moved (revenue per user, latency), with confidence intervals. With
 * v_c = s_c²/n_c and v_t = s_t²/n_t:
 *
 *   absolute:  d = x̄_t - x̄_c,           SE = √(v_c + v_t),   d ± t_ν·SE,  t_ν = T⁻¹_ν(1 - (1 - level)/2)
 *   relative:  r = (x̄_t - x̄_c) / |x̄_c|,  SE = √(v_t/x̄_c² + x̄_t²·v_c/x̄_c⁴),   r ± z·SE   (delta method)
 *
 * The absolute interval uses Welch's t with the Welch–Satterthwaite ν, so it excludes 0 exactly
 * when {@link welchTTest}'s two-sided p-value is below 1 - level. The relative interval is the
 * first-order delta method for the ratio of two independent means, referred to the normal: it is
 * asymptotic and wants a control mean that is many standard errors away from 0 (it breaks down
 * as x̄_c approaches 0). Dividing by |x̄_c| keeps the sign of r equal to the sign of d for
 * negative metrics. CUPED-adjusted summaries ({@link cupedAdjustment}) go in unchanged.
 *
 * An empty arm gives null throughout; an arm with fewer than 2 observations gives null standard
 * errors and bounds; a control mean of 0 gives a null relative uplift; both variances 0 gives null bounds.
 * @throws RangeError on the same inputs as {@link welchTTest}, or when confidenceLevel is not in (0, 1).
 */
export function meanUplift(control: SampleSummary, treatment: SampleSummary, options: UpliftOptions = {}): MeanUpliftResult {
  return meanDifferenceUplift(control, treatment, options, 'welch');
}

/**
 * {@link meanUplift} with the absolute interval referred to the normal instead of Welch's t:
 *
 *   absolute:  d = x̄_t - x̄_c,           SE = √(v_c + v_t),   d ± z·SE,  z = Φ⁻¹(1 - (1 - level)/2)
 *   relative:  r = (x̄_t - x̄_c) / |x̄_c|,  SE = √(v_t/x̄_c² + x̄_t²·v_c/x̄_c⁴),   r ± z·SE   (delta method)
 *
 * with v = s²/n, for asymptotically normal estimates that are not means of observations: above all
 * ratio metrics ({@link summarizeRatio}), where v is the delta-method variance of R = Σx/Σy and the
 * relative uplift is R_t/R_c - 1 (for R_c > 0; dividing by |R_c| keeps the sign of the difference
 * otherwise). The absolute interval excludes 0 exactly when {@link meanZTest}'s two-sided p-value
 * is below 1 - level. Same nulls as {@link meanUplift}.
 * @throws RangeError on the same inputs as {@link welchTTest}, or when confidenceLevel is not in (0, 1).
 */
export function normalMeanUplift(control: SampleSummary, treatment: SampleSummary, options: UpliftOptions = {}): UpliftResult {
  const { confidenceLevel, absolute, relative } = meanDifferenceUplift(control, treatment, options, 'normal');
  return { confidenceLevel, absolute, relative };
}

function meanDifferenceUplift(
  control: SampleSummary,
  treatment: SampleSummary,
  options: UpliftOptions,
  reference: 'welch' | 'normal',
): MeanUpliftResult {
  requireSampleSummary('control', control);
  requireSampleSummary('treatment', treatment);
  const confidenceLevel = requireConfidenceLevel(options);
  if (control.n === 0 || treatment.n === 0) {
    return { confidenceLevel, absolute: NO_ESTIMATE, relative: NO_ESTIMATE, degreesOfFreedom: null };
  }
  const difference = treatment.mean - control.mean;
  const relativeEstimate = control.mean === 0 ? null : difference / Math.abs(control.mean);
  if (control.n < 2 || treatment.n < 2) {
    return {
      confidenceLevel,
      absolute: { ...NO_ESTIMATE, estimate: difference },
      relative: { ...NO_ESTIMATE, estimate: relativeEstimate },
      degreesOfFreedom: null,
    };
  }
  const controlVariance = control.variance / control.n;
  const treatmentVariance = treatment.variance / treatment.n;
  const standardError = Math.sqrt(controlVariance + treatmentVariance);
  const z = criticalNormal(confidenceLevel);
  let absolute: EffectInterval;
  let degreesOfFreedom: number | null = null;
  if (reference === 'normal') {
    absolute = interval(difference, standardError, z);
  } else {
    degreesOfFreedom = standardError === 0 ? null : welchDegreesOfFreedom(control, treatment);
    const t = degreesOfFreedom === null ? 0 : -studentTQuantile((1 - confidenceLevel) / 2, degreesOfFreedom);
    absolute = interval(difference, standardError, t);
  }
  const relative =
    relativeEstimate === null
      ? NO_ESTIMATE
      : interval(relativeEstimate, relativeStandardError(control.mean, treatment.mean, controlVariance, treatmentVariance), z);
  return { confidenceLevel, absolute, relative, degreesOfFreedom };
}
