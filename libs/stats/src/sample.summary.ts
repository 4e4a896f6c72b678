import { requireCount, requireFinite } from './input.validation';

/**
 * What a mean comparison needs to know about one sample. This is the shape that
 * {@link summarize} returns and {@link welchTTest} takes, so per-arm sums collected by the
 * worker go straight from the database into the test.
 */
export interface SampleSummary {
  /** Number of observations. */
  n: number;
  /** Arithmetic mean; NaN when n is 0. */
  mean: number;
  /** Sample variance with Bessel's correction (divides by n - 1); NaN when n < 2. */
  variance: number;
}

/**
 * Mean and sample variance from streaming sums (n, Σx, Σx²), the only form in which per-arm
 * metric data can be aggregated cheaply (one row per arm, updated by addition).
 *
 * variance = (Σx² - Σx·mean) / (n - 1). The subtraction cancels catastrophically when the
 * coefficient of variation is tiny, so a result within the rounding error of naive summation
 * (|Σx² - Σx·mean| <= 2·n·ε·Σx², ε = 2^-52) is reported as exactly 0 rather than as rounding noise
 * of either sign. For data far from zero with a tiny spread (say timestamps), subtract a reference
 * value before summing.
 *
 * n = 0 gives mean and variance NaN; n = 1 gives the value as mean and variance NaN (a single
 * observation says nothing about spread).
 * @throws RangeError when n is not a non-negative integer, a sum is not finite, Σx² is negative,
 * or Σx² < (Σx)²/n beyond rounding error (no real sample has such sums).
 */
export function summarize(n: number, sum: number, sumOfSquares: number): SampleSummary {
  requireCount('n', n);
  requireFinite('sum', sum);
  requireFinite('sumOfSquares', sumOfSquares);
  if (sumOfSquares < 0) throw new RangeError(`sumOfSquares must not be negative, got ${sumOfSquares}`);
  if (n === 0) {
    if (sum !== 0 || sumOfSquares !== 0) {
      throw new RangeError(`sum and sumOfSquares must be 0 when n is 0, got ${sum} and ${sumOfSquares}`);
    }
    return { n, mean: NaN, variance: NaN };
  }
  const mean = sum / n;
  if (n === 1) return { n, mean, variance: NaN };
  const centred = sumOfSquares - sum * mean;
  const roundingError = 2 * n * Number.EPSILON * sumOfSquares;
  if (centred < -roundingError) {
    throw new RangeError(
      `sumOfSquares (${sumOfSquares}) is smaller than sum²/n (${sum * mean}): these are not the sums of one sample`,
    );
  }
  return { n, mean, variance: centred <= roundingError ? 0 : centred / (n - 1) };
}
