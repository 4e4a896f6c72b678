import { requireOpenProbability } from './input.validation';
import type { SampleSummary } from './sample.summary';
import { type ProportionSample, requireProportionSample } from './two-proportion.z-test';
import { requireSampleSummary } from './welch.t-test';

/** Options of the confidence sequences. */
export interface ConfidenceSequenceOptions {
  /** The sequence covers the true difference at every look at once with probability >= 1 - alpha; 0.05 by default. */
  alpha?: number;
  /**
   * The total number of units (both arms) N* for which the mixture parameter ρ is tuned: of all
   * sequences in the family, this one has the narrowest interval when N* units have been seen
   * (see {@link meanConfidenceSequence}). The expected final sample size of the experiment is a
   * good choice; 5,000 by default (GrowthBook's default). Any value gives a valid sequence, a poor
   * one only a wider interval.
   */
  tuningSampleSize?: number;
}

/**
 * One look at a sequential comparison: an always-valid confidence interval for treatment - control
 * and the matching always-valid p-value. `null` marks what the data do not define.
 */
export interface ConfidenceSequenceResult {
  /** treatment - control; null when an arm is empty. */
  difference: number | null;
  /** The unpooled standard error of the difference; null when it is unknown (see the functions). */
  standardError: number | null;
  /** Bounds of the confidence sequence at this look; null when the standard error is 0 or null. */
  lower: number | null;
  upper: number | null;
  /**
   * The always-valid p-value at this look, in [0, 1]; exactly 1 whenever the bounds are null. The
   * p-value of the experiment so far is the minimum over all looks, and rejecting when it drops
   * below alpha is the same as rejecting when some look's interval excludes 0.
   */
  pValue: number;
}

function requireOptions(options: ConfidenceSequenceOptions): { alpha: number; tuningSampleSize: number } {
  const alpha = options.alpha ?? 0.05;
  const tuningSampleSize = options.tuningSampleSize ?? 5000;
  requireOpenProbability('alpha', alpha);
  if (typeof tuningSampleSize !== 'number' || !(tuningSampleSize > 0 && Number.isFinite(tuningSampleSize))) {
    throw new RangeError(`tuningSampleSize must be a positive finite number, got ${String(tuningSampleSize)}`);
  }
  return { alpha, tuningSampleSize };
}

/**
 * The normal-mixture boundary in dimensionless form. With ρ² = (-2 ln α + ln(1 - 2 ln α)) / N*
 * (N* the tuning sample size) and v = ρ²·N at N units so far:
 *
 *   half-width = SE · √( 2(1 + v)/v · ln(√(1 + v) / α) )
 *   p          = min(1, √(1 + v) · exp(-(z²/2) · v/(1 + v))),   z = difference / SE
 *
 * p < α exactly when |difference| > half-width.
 */
function boundary(
  difference: number,
  standardError: number,
  units: number,
  alpha: number,
  tuningSampleSize: number,
): ConfidenceSequenceResult {
  if (standardError === 0) return { difference, standardError, lower: null, upper: null, pValue: 1 };
  const logAlpha = Math.log(alpha);
  const rhoSquared = (-2 * logAlpha + Math.log(1 - 2 * logAlpha)) / tuningSampleSize;
  const v = rhoSquared * units;
  const halfWidth = standardError * Math.sqrt(((2 * (1 + v)) / v) * (0.5 * Math.log1p(v) - logAlpha));
  const z = difference / standardError;
  const logP = 0.5 * Math.log1p(v) - ((z * z) / 2) * (v / (1 + v));
  return { difference, standardError, lower: difference - halfWidth, upper: difference + halfWidth, pValue: Math.min(1, Math.exp(logP)) };
}

/**
 * An always-valid (anytime) confidence sequence for the difference of two means, so that the
 * result may be read after every batch of data, and the experiment stopped as soon as it is clear,
 * without inflating false positives the way repeated fixed-horizon tests do (20 daily looks at a
 * 5% test give roughly 20-25% false positives).
 *
 * This is the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas
 * (2021, "Time-uniform central limit theory and asymptotic confidence sequences", eq. 9), built on
 * the two-sided normal-mixture boundary of Howard, Ramdas, McAuliffe and Sekhon (2021), the same
 * family GrowthBook uses. With N = n_c + n_t units so far, SE = √(s_c²/n_c + s_t²/n_t),
 * σ̂² = N·SE² and a mixing variance ρ²:
 *
 *   d ± σ̂ · √( 2(Nρ² + 1)/(N²ρ²) · ln(√(Nρ² + 1)/α) )
 *
 * It covers the true difference at all looks simultaneously with probability about 1 - alpha.
 * ρ² = (-2 ln α + ln(1 - 2 ln α)) / N* is the choice of ρ that (to a close approximation) gives
 * the narrowest interval at N = N* units (`tuningSampleSize`); the interval still shrinks as N grows. The always-valid p-value is the smallest α' at which this look's interval
 * (with ρ fixed) excludes 0: p = min(1, √(1 + Nρ²)·exp(-(z²/2)·Nρ²/(1 + Nρ²))), z = d/SE.
 *
 * Assumes independent units with a fixed allocation ratio and a central limit theorem that has
 * taken hold (the guarantee is asymptotic, so the first looks should have a few hundred units);
 * the price of peeking freely is a wider interval than a fixed-horizon one at the same N.
 *
 * An empty arm gives null throughout; an arm with fewer than 2 observations gives null standard
 * error and bounds; both variances 0 gives null bounds. pValue is 1 whenever the bounds are null.
 * @throws RangeError on the same inputs as {@link welchTTest}, or when alpha is not in (0, 1) or
 * tuningSampleSize is not a positive finite number.
 */
export function meanConfidenceSequence(
  control: SampleSummary,
  treatment: SampleSummary,
  options: ConfidenceSequenceOptions = {},
): ConfidenceSequenceResult {
  requireSampleSummary('control', control);
  requireSampleSummary('treatment', treatment);
  const { alpha, tuningSampleSize } = requireOptions(options);
  if (control.n === 0 || treatment.n === 0) return { difference: null, standardError: null, lower: null, upper: null, pValue: 1 };
  const difference = treatment.mean - control.mean;
  if (control.n < 2 || treatment.n < 2) return { difference, standardError: null, lower: null, upper: null, pValue: 1 };
  const standardError = Math.sqrt(control.variance / control.n + treatment.variance / treatment.n);
  return boundary(difference, standardError, control.n + treatment.n, alpha, tuningSampleSize);
}

/**
 * The always-valid confidence sequence of {@link meanConfidenceSequence} for the difference of
 * two rates p_t - p_c, with the unpooled SE = √(p_c(1 - p_c)/n_c + p_t(1 - p_t)/n_t) (a rate is
 * the mean of 0/1 outcomes). Same boundary, same assumptions, same always-valid p-value.
 *
 * An empty arm gives null throughout; a standard error of 0 (every unit in both arms succeeded,
 * or none did) gives null bounds and pValue 1.
 * @throws RangeError when a count is invalid, successes exceed units, alpha is not in (0, 1) or
 * tuningSampleSize is not a positive finite number.
 */
export function proportionConfidenceSequence(
  control: ProportionSample,
  treatment: ProportionSample,
  options: ConfidenceSequenceOptions = {},
): ConfidenceSequenceResult {
  requireProportionSample('control', control);
  requireProportionSample('treatment', treatment);
  const { alpha, tuningSampleSize } = requireOptions(options);
  if (control.units === 0 || treatment.units === 0) return { difference: null, standardError: null, lower: null, upper: null, pValue: 1 };
  const controlRate = control.successes / control.units;
  const treatmentRate = treatment.successes / treatment.units;
  const standardError = Math.sqrt(
    (controlRate * (1 - controlRate)) / control.units + (treatmentRate * (1 - treatmentRate)) / treatment.units,
  );
  return boundary(treatmentRate - controlRate, standardError, control.units + treatment.units, alpha, tuningSampleSize);
}
