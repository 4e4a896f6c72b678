import { chiSquareGoodnessOfFit } from './chi-square.goodness-of-fit';
import { requireOpenProbability } from './input.validation';

/** The outcome of {@link sampleRatioMismatch}. */
export interface SampleRatioMismatchResult {
  /** The chi-square goodness-of-fit p-value of the observed split against the configured weights; 1 with no units. */
  pValue: number;
  /** pValue < threshold: the assignment is broken and the experiment's results should not be trusted. */
  mismatch: boolean;
}

/** Options of {@link sampleRatioMismatch}. */
export interface SampleRatioMismatchOptions {
  /** Flag a mismatch below this p-value; 0.001 by default (strict, because the check runs on every look at every experiment). */
  threshold?: number;
}

/**
 * The sample ratio mismatch health check: do the units per variation follow the configured
 * weights? A mismatch means the assignment or the exposure logging is biased (a redirect that
 * loses some users, a bot filter that hits one arm, a crash in one variation), and then no
 * comparison of the arms can be trusted, however significant. Pearson's chi-square test
 * ({@link chiSquareGoodnessOfFit}): expected counts E_i = N·w_i/Σw, statistic Σ(O_i - E_i)²/E_i
 * on k - 1 degrees of freedom, flagged when p < threshold.
 *
 * With a large N even a tiny imbalance is flagged (50.5/49.5 of 200,000 units gives p ≈ 1e-5);
 * that is intended, because a real assignment has no imbalance beyond chance at all.
 * @throws RangeError as {@link chiSquareGoodnessOfFit} does (the messages name `observed` and
 * `expectedWeights` for counts and weights), or when threshold is not in (0, 1).
 */
export function sampleRatioMismatch(
  counts: readonly number[],
  weights: readonly number[],
  { threshold = 0.001 }: SampleRatioMismatchOptions = {},
): SampleRatioMismatchResult {
  requireOpenProbability('threshold', threshold);
  const { pValue } = chiSquareGoodnessOfFit(counts, weights);
  return { pValue, mismatch: pValue < threshold };
}
