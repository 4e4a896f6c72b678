import { type Alternative, requireAlternative, symmetricPValue } from './alternative';
import { studentTCdf } from './distribution.functions';
import { requireCount, requireFinite } from './input.validation';
import type { SampleSummary } from './sample.summary';

/**
 * The outcome of {@link welchTTest}. A quantity the data do not define is `null`, never NaN, so
 * results survive JSON and force callers to handle the degenerate case.
 */
export interface WelchTTestResult {
  /** treatment.mean - control.mean; null when either arm is empty. */
  difference: number | null;
  /**
   * difference / |control.mean|, so that its sign is always the sign of the difference (for a
   * positive control mean this is the usual (t - c) / c); null when control.mean is 0 or an arm is empty.
   */
  relativeDifference: number | null;
  /** difference / standardError; null when the standard error is 0 or null. */
  t: number | null;
  /** Welch–Satterthwaite degrees of freedom (fractional); null whenever t is. */
  degreesOfFreedom: number | null;
  /** In [0, 1]; exactly 1 ("no evidence") whenever t is null. */
  pValue: number;
  /** √(s_c²/n_c + s_t²/n_t); 0 when both variances are 0, null when an arm has fewer than 2 observations. */
  standardError: number | null;
}

/**
 * Throws RangeError naming `arm` and the field when n is not a count or a mean or variance that the
 * sample size makes meaningful is not finite (or the variance is negative).
 */
export function requireSampleSummary(arm: string, sample: SampleSummary): void {
  requireCount(`${arm}.n`, sample.n);
  if (sample.n >= 1) requireFinite(`${arm}.mean`, sample.mean);
  if (sample.n >= 2) {
    requireFinite(`${arm}.variance`, sample.variance);
    if (sample.variance < 0) throw new RangeError(`${arm}.variance must not be negative, got ${sample.variance}`);
  }
}

/**
 * The Welch–Satterthwaite degrees of freedom ν = (a + b)² / (a²/(n_c - 1) + b²/(n_t - 1)) with
 * a = s_c²/n_c, b = s_t²/n_t, shared by the test and the confidence interval of the difference so
 * that both refer to the same t distribution. Written with the shares a/(a + b) and b/(a + b), so
 * that tiny variances cannot underflow to 0/0. Needs n >= 2 in both arms and a + b > 0 (NaN otherwise).
 */
export function welchDegreesOfFreedom(control: SampleSummary, treatment: SampleSummary): number {
  const controlTerm = control.variance / control.n;
  const treatmentTerm = treatment.variance / treatment.n;
  const total = controlTerm + treatmentTerm;
  const controlShare = controlTerm / total;
  const treatmentShare = treatmentTerm / total;
  return 1 / ((controlShare * controlShare) / (control.n - 1) + (treatmentShare * treatmentShare) / (treatment.n - 1));
}

/**
 * Compares two means (latency, revenue per user) with Welch's unequal-variances t-test, which
 * unlike Student's test stays valid when the arms differ in both size and spread, as a 5% canary
 * against 95% of traffic does:
 *
 *   SE = √(s_c²/n_c + s_t²/n_t),  t = (x̄_t - x̄_c) / SE,
 *   ν = SE⁴ / ((s_c²/n_c)²/(n_c - 1) + (s_t²/n_t)²/(n_t - 1))   (Welch–Satterthwaite)
 *
 * and the p-value from Student's t with ν degrees of freedom (`'greater'`: P(T >= t), H1:
 * treatment mean > control mean). Assumes independent observations and means that are close to
 * normal (true of most metrics for a few dozen observations per arm by the central limit theorem;
 * heavy-tailed metrics need more).
 *
 * Degenerate data (an arm with fewer than 2 observations, so its variance is unknown, or both
 * variances 0, so the SE is 0) return `pValue: 1` for every alternative: no evidence, never NaN.
 * Entries that the sample size makes meaningless are not checked (the mean of an empty arm, the
 * variance of a one-observation arm may be NaN, as {@link summarize} gives them).
 * @throws RangeError when n is not a non-negative integer, a mean or variance that is needed is not
 * finite, a variance is negative, or the alternative is unknown.
 */
export function welchTTest(control: SampleSummary, treatment: SampleSummary, alternative: Alternative): WelchTTestResult {
  requireSampleSummary('control', control);
  requireSampleSummary('treatment', treatment);
  requireAlternative(alternative);

  const bothObserved = control.n > 0 && treatment.n > 0;
  const difference = bothObserved ? treatment.mean - control.mean : null;
  const relativeDifference = difference === null || control.mean === 0 ? null : difference / Math.abs(control.mean);
  if (control.n < 2 || treatment.n < 2) {
    return { difference, relativeDifference, t: null, degreesOfFreedom: null, pValue: 1, standardError: null };
  }
  const controlTerm = control.variance / control.n;
  const treatmentTerm = treatment.variance / treatment.n;
  const total = controlTerm + treatmentTerm;
  const standardError = Math.sqrt(total);
  if (standardError === 0) {
    return { difference, relativeDifference, t: null, degreesOfFreedom: null, pValue: 1, standardError };
  }
  const t = (treatment.mean - control.mean) / standardError;
  const degreesOfFreedom = welchDegreesOfFreedom(control, treatment);
  const pValue = symmetricPValue(t, alternative, (x) => studentTCdf(x, degreesOfFreedom));
  return { difference, relativeDifference, t, degreesOfFreedom, pValue, standardError };
}
