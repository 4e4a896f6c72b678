import { centreBivariateSums } from './bivariate.sums';
import type { SampleSummary } from './sample.summary';

/**
 * The per-variation sums of a ratio metric Σx / Σy, over the variation's randomisation units
 * (users, say): x is a unit's numerator (the sum of its request latencies, its revenue) and y its
 * denominator (its number of requests, of orders). Units with y = 0 (no requests) still count:
 * they add to n and to nothing else. Every sum adds up row by row, so the worker can keep them
 * incrementally in SQL.
 */
export interface RatioSums {
  /** Number of units (a non-negative integer). */
  n: number;
  /** Σx over units. */
  sumX: number;
  /** Σy over units; non-negative (a denominator counts or measures something). */
  sumY: number;
  /** Σx² over units (of each unit's total, not of the observations inside it). */
  sumX2: number;
  /** Σy² over units. */
  sumY2: number;
  /** Σxy over units. */
  sumXY: number;
}

/** Error-message names of the fields that {@link centreBivariateSums} knows under other names. */
const RATIO_NAMES = { sumOfSquaresX: 'sumX2', sumOfSquaresY: 'sumY2', sumOfProducts: 'sumXY' } as const;

/**
 * A ratio metric R = Σx/Σy (mean latency per request, revenue per order) as a {@link SampleSummary},
 * so that the mean comparisons read it unchanged: `mean` is R and `variance` is the per-unit
 * variance of the linearised values, so that variance / n is the delta-method variance of R.
 *
 * Units are independent but the observations inside a unit are not (one slow user makes many slow
 * requests), so the variance comes from the delta method over units, never from the observations.
 * With x̄ = Σx/n, ȳ = Σy/n and the sample (co)variances s_x², s_y², s_xy (n - 1 denominators):
 *
 *   R = Σx / Σy,   Var(R) ≈ (s_x² - 2R·s_xy + R²·s_y²) / (n·ȳ²)
 *
 * (first-order Taylor expansion of x̄/ȳ around the true means). So `variance` is
 * (s_x² - 2R·s_xy + R²·s_y²)/ȳ², which is the sample variance of R + (x_i - R·y_i)/ȳ: the summary
 * goes into {@link meanZTest}, {@link normalMeanUplift}, {@link meanConfidenceSequence},
 * {@link normalMeanComparison} and {@link meanMinimumDetectableEffect} as it is. It is asymptotic:
 * it wants a few hundred units and ȳ many standard errors away from 0. Welch's t-test is not meant
 * for it (the linearised values are not observations); read it with the normal.
 *
 * The (co)variances are computed from centred sums, with the rounding and consistency checks of
 * {@link cupedAdjustment}. n = 0 or Σy = 0 gives mean and variance NaN (the ratio is undefined);
 * n = 1 gives the ratio as mean and variance NaN.
 * @throws RangeError naming `label` and the field when n is not a non-negative integer, a sum is
 * not finite, Σy or a sum of squares is negative, a sum is not 0 when n is 0, or the sums cannot
 * come from one sample (Σx² < (Σx)²/n, Σy² < (Σy)²/n or |S_xy| > √(S_xx·S_yy) beyond rounding).
 */
export function summarizeRatio(sums: RatioSums, label = 'sums'): SampleSummary {
  // Before the consistency checks, so that a negative denominator is named as such.
  if (typeof sums.sumY === 'number' && sums.sumY < 0) throw new RangeError(`${label}.sumY must not be negative, got ${sums.sumY}`);
  const centred = centreBivariateSums(
    label,
    { n: sums.n, sumX: sums.sumX, sumY: sums.sumY, sumOfSquaresX: sums.sumX2, sumOfSquaresY: sums.sumY2, sumOfProducts: sums.sumXY },
    RATIO_NAMES,
  );
  const { n } = centred;
  if (n === 0 || sums.sumY === 0) return { n, mean: NaN, variance: NaN };
  const ratio = sums.sumX / sums.sumY;
  if (n === 1) return { n, mean: ratio, variance: NaN };
  // S_xx - 2R·S_xy + R²·S_yy = Σ(x_i - R·y_i)² (x̄ - R·ȳ is 0). Each centred sum carries the
  // rounding of naive summation, up to about 2·n·ε·(√Σx² + |R|·√Σy²)² in all; a result within
  // that is exactly 0 (every unit at the same ratio), as summarize() does for a constant sample.
  const residualSquares = centred.sxx - 2 * ratio * centred.sxy + ratio * ratio * centred.syy;
  const scale = Math.sqrt(sums.sumX2) + Math.abs(ratio) * Math.sqrt(sums.sumY2);
  const roundingError = 2 * n * Number.EPSILON * scale * scale;
  const variance = residualSquares <= roundingError ? 0 : residualSquares / (n - 1) / centred.meanY / centred.meanY;
  return { n, mean: ratio, variance };
}
