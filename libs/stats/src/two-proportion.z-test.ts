import { type Alternative, requireAlternative, symmetricPValue } from './alternative';
import { normalCdf } from './distribution.functions';
import { requireCount } from './input.validation';

/** One arm of a rate comparison: how many units were exposed and how many of them "succeeded" (e.g. saw an error). */
export interface ProportionSample {
  units: number;
  successes: number;
}

/**
 * The outcome of {@link twoProportionZTest}. A quantity the data do not define is `null`, never
 * NaN, so results survive JSON and force callers to handle the empty case.
 */
export interface TwoProportionZTestResult {
  /** control.successes / control.units; null when control has no units. */
  controlRate: number | null;
  /** treatment.successes / treatment.units; null when treatment has no units. */
  treatmentRate: number | null;
  /** treatmentRate - controlRate; null when either rate is. */
  difference: number | null;
  /** (treatmentRate - controlRate) / controlRate; null when controlRate is 0 or null. */
  relativeDifference: number | null;
  /** difference / standardError; null when the standard error is 0 or null. */
  z: number | null;
  /** In [0, 1]; exactly 1 ("no evidence") whenever z is null. */
  pValue: number;
  /**
   * The pooled standard error under H0 (equal rates); 0 when every unit succeeded or none did,
   * null when an arm is empty. It is the test's denominator, not the one for a confidence interval.
   */
  standardError: number | null;
}

/** Throws RangeError naming `arm` and the field when a count is invalid or successes exceed units. */
export function requireProportionSample(arm: string, sample: ProportionSample): void {
  requireCount(`${arm}.units`, sample.units);
  requireCount(`${arm}.successes`, sample.successes);
  if (sample.successes > sample.units) {
    throw new RangeError(`${arm}.successes (${sample.successes}) must not exceed ${arm}.units (${sample.units})`);
  }
}

/**
 * Compares two rates (an error rate, a conversion rate) with the two-proportion z-test using the
 * pooled standard error, the usual large-sample test of H0: both arms share one rate p:
 *
 *   p̂ = (s_c + s_t) / (n_c + n_t),  SE = √(p̂(1 - p̂)(1/n_c + 1/n_t)),  z = (s_t/n_t - s_c/n_c) / SE
 *
 * and the p-value from the standard normal (`'greater'`: P(Z >= z), H1: treatment rate > control
 * rate). The normal approximation wants roughly 5 or more successes and failures in each arm;
 * units must be independent (count users, not requests, when one user's requests are correlated).
 *
 * Degenerate data (an arm with no units, or every unit in both arms succeeded or none did, so the
 * SE is 0) return `pValue: 1` for every alternative: no evidence of a difference, never NaN.
 * @throws RangeError when a count is negative or not an integer, successes exceed units, or the
 * alternative is unknown.
 */
export function twoProportionZTest(
  control: ProportionSample,
  treatment: ProportionSample,
  alternative: Alternative,
): TwoProportionZTestResult {
  requireProportionSample('control', control);
  requireProportionSample('treatment', treatment);
  requireAlternative(alternative);

  const controlRate = control.units > 0 ? control.successes / control.units : null;
  const treatmentRate = treatment.units > 0 ? treatment.successes / treatment.units : null;
  if (controlRate === null || treatmentRate === null) {
    return { controlRate, treatmentRate, difference: null, relativeDifference: null, z: null, pValue: 1, standardError: null };
  }
  const difference = treatmentRate - controlRate;
  const relativeDifference = controlRate === 0 ? null : difference / controlRate;
  const pooled = (control.successes + treatment.successes) / (control.units + treatment.units);
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / control.units + 1 / treatment.units));
  if (standardError === 0) {
    return { controlRate, treatmentRate, difference, relativeDifference, z: null, pValue: 1, standardError };
  }
  const z = difference / standardError;
  const pValue = symmetricPValue(z, alternative, (x) => normalCdf(x));
  return { controlRate, treatmentRate, difference, relativeDifference, z, pValue, standardError };
}
