import { type Alternative, requireAlternative, symmetricPValue } from './alternative';
import { normalCdf } from './distribution.functions';
import type { SampleSummary } from './sample.summary';
import { requireSampleSummary } from './welch.t-test';

/** The outcome of {@link meanZTest}; `null` marks what the data do not define, never NaN. */
export interface MeanZTestResult {
  /** treatment.mean - control.mean; null when either arm is empty. */
  difference: number | null;
  /** difference / standardError; null when the standard error is 0 or null. */
  z: number | null;
  /** In [0, 1]; exactly 1 ("no evidence") whenever z is null. */
  pValue: number;
  /** √(s_c²/n_c + s_t²/n_t); 0 when both variances are 0, null when an arm has fewer than 2 units. */
  standardError: number | null;
}

/**
 * The large-sample z-test of two means, for estimates that are asymptotically normal but are not
 * means of observations, so that Welch's t and its degrees of freedom have no meaning: above all
 * ratio metrics, whose {@link summarizeRatio} summary carries the delta-method variance.
 *
 *   SE = √(s_c²/n_c + s_t²/n_t),   z = (x̄_t - x̄_c) / SE,   p from the standard normal
 *
 * (`'greater'`: P(Z >= z), H1: treatment > control). For plain means with a few dozen units or
 * fewer, prefer {@link welchTTest}. An arm with fewer than 2 units, or both variances 0, gives
 * `pValue: 1` and a null z.
 * @throws RangeError on the same inputs as {@link welchTTest}.
 */
export function meanZTest(control: SampleSummary, treatment: SampleSummary, alternative: Alternative): MeanZTestResult {
  requireSampleSummary('control', control);
  requireSampleSummary('treatment', treatment);
  requireAlternative(alternative);
  const difference = control.n > 0 && treatment.n > 0 ? treatment.mean - control.mean : null;
  if (difference === null || control.n < 2 || treatment.n < 2) return { difference, z: null, pValue: 1, standardError: null };
  const standardError = Math.sqrt(control.variance / control.n + treatment.variance / treatment.n);
  if (standardError === 0) return { difference, z: null, pValue: 1, standardError };
  const z = difference / standardError;
  return { difference, z, pValue: symmetricPValue(z, alternative, (x) => normalCdf(x)), standardError };
}
