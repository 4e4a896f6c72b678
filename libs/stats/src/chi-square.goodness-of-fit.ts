import { chiSquareCdf } from './distribution.functions';
import { requireCount } from './input.validation';

/** The outcome of {@link chiSquareGoodnessOfFit}. */
export interface ChiSquareGoodnessOfFitResult {
  /** Pearson's statistic Σ (O_i - E_i)² / E_i. */
  statistic: number;
  /** Number of categories minus 1. */
  degreesOfFreedom: number;
  /** P(χ² >= statistic); 1 when nothing was observed. Exact to ~1e-16 absolute, so a tiny p-value may be 0. */
  pValue: number;
}

/**
 * Pearson's chi-square goodness-of-fit test of observed counts against the split they should
 * follow: the sample ratio mismatch check (did a 50/50 rollout really assign 50/50?). Expected
 * counts are E_i = N·w_i / Σw, with N = ΣO_i, and the statistic is referred to χ² with k - 1
 * degrees of freedom. Assumes independent units and expected counts of about 5 or more per category.
 *
 * No observations at all give statistic 0 and pValue 1 (no evidence of a mismatch).
 * @throws RangeError when the arrays differ in length or have fewer than 2 entries, an observed
 * count is not a non-negative integer, or a weight is not a positive finite number (leave out the
 * categories that should receive nothing).
 */
export function chiSquareGoodnessOfFit(observed: readonly number[], expectedWeights: readonly number[]): ChiSquareGoodnessOfFitResult {
  if (observed.length !== expectedWeights.length) {
    throw new RangeError(`observed has ${observed.length} categories but expectedWeights has ${expectedWeights.length}`);
  }
  if (observed.length < 2) throw new RangeError(`at least 2 categories are needed, got ${observed.length}`);
  observed.forEach((count, i) => requireCount(`observed[${i}]`, count));
  expectedWeights.forEach((weight, i) => {
    if (typeof weight !== 'number' || !(weight > 0 && Number.isFinite(weight))) {
      throw new RangeError(`expectedWeights[${i}] must be a positive finite number, got ${String(weight)}`);
    }
  });

  const degreesOfFreedom = observed.length - 1;
  const total = observed.reduce((sum, count) => sum + count, 0);
  if (total === 0) return { statistic: 0, degreesOfFreedom, pValue: 1 };
  const weightTotal = expectedWeights.reduce((sum, weight) => sum + weight, 0);
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = (total * expectedWeights[i]) / weightTotal;
    statistic += (observed[i] - expected) ** 2 / expected;
  }
  const pValue = Math.min(1, Math.max(0, 1 - chiSquareCdf(statistic, degreesOfFreedom)));
  return { statistic, degreesOfFreedom, pValue };
}
