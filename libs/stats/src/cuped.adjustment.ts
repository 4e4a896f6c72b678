import { centreBivariateSums } from './bivariate.sums';
import type { SampleSummary } from './sample.summary';

/**
 * The per-variation sums that CUPED needs, over the units of one variation: y is the metric
 * during the experiment, x the same metric (or any covariate the treatment cannot affect) over a
 * period before the unit's first exposure; units with no pre-exposure data count with x = 0.
 * All sums add up row by row, so the worker can keep them incrementally in SQL.
 */
export interface CupedSums {
  /** Number of units. */
  n: number;
  /** Σy */
  sumY: number;
  /** Σy² */
  sumOfSquaresY: number;
  /** Σx */
  sumX: number;
  /** Σx² */
  sumOfSquaresX: number;
  /** Σxy */
  sumOfProducts: number;
}

/** One variation after {@link cupedAdjustment}, in the order given. */
export interface CupedVariation {
  /** Mean and variance of the adjusted metric y - θ(x - x̄): feed this to the t-test, uplift, sequential and Bayesian functions. */
  adjusted: SampleSummary;
  /** Mean and variance of y alone, as {@link summarize} gives them. */
  unadjusted: SampleSummary;
  /**
   * 1 - adjusted.variance / unadjusted.variance: the share of variance removed (about ρ², ρ the
   * within-variation correlation of x and y), so 0.3 means 30% fewer units for the same precision.
   * Null when the unadjusted variance is 0 or undefined (n < 2).
   */
  varianceReduction: number | null;
}

/** The outcome of {@link cupedAdjustment}. */
export interface CupedResult {
  /** The pooled regression slope of y on x; null when x has no spread within any variation (nothing is adjusted then). */
  theta: number | null;
  /** x̄, the pre-exposure mean over all units of all variations; null when there are no units at all. */
  preExposureMean: number | null;
  variations: CupedVariation[];
}

/**
 * CUPED (Deng, Xu, Kohavi and Walker, 2013): removes from each unit's metric y the part that its
 * pre-exposure value x predicts, which shrinks the variance by about ρ² (ρ the correlation of x
 * and y) and with it the confidence intervals and the sample needed, without biasing the
 * difference between variations (x cannot depend on the assignment, so E[x̄_t - x̄_c] = 0).
 *
 * From per-variation sums, with S_xx,k = Σx² - (Σx)²/n, S_xy,k = Σxy - ΣxΣy/n, S_yy,k likewise:
 *
 *   θ = Σ_k S_xy,k / Σ_k S_xx,k          (one slope for all variations, from within-variation spread)
 *   x̄ = Σ_k Σx / Σ_k n                    (pooled pre-exposure mean)
 *   ȳ_k^adj = ȳ_k - θ(x̄_k - x̄)
 *   s²_k^adj = (S_yy,k - 2θ·S_xy,k + θ²·S_xx,k) / (n_k - 1)
 *
 * θ pools the within-variation sums (the ANCOVA slope), so a treatment effect on y cannot leak
 * into θ; using one θ for every variation keeps the adjusted difference ȳ_t - ȳ_c - θ(x̄_t - x̄_c)
 * unbiased. The adjusted summaries go into {@link welchTTest}, {@link meanUplift},
 * {@link meanConfidenceSequence} and {@link normalMeanComparison} unchanged. As usual for CUPED,
 * θ is treated as known (its estimation error is of order 1/N), and for the relative uplift the
 * pooled x̄, shared by both arms, is treated as a constant.
 *
 * When x has no spread within any variation, θ is null and the adjusted summaries equal the
 * unadjusted ones. Empty variations and one-unit variations give NaN as {@link summarize} does.
 * @throws RangeError naming the variation and the field when a sum is not finite, n is not a
 * non-negative integer, or the sums cannot come from one sample; or when no variation is given.
 */
export function cupedAdjustment(variations: readonly CupedSums[]): CupedResult {
  if (variations.length === 0) throw new RangeError('at least 1 variation is needed, got 0');
  const centred = variations.map((sums, i) => centreBivariateSums(`variations[${i}]`, sums));

  const totalN = centred.reduce((sum, c) => sum + c.n, 0);
  const totalX = variations.reduce((sum, v) => sum + v.sumX, 0);
  const preExposureMean = totalN === 0 ? null : totalX / totalN;
  const pooledSxx = centred.reduce((sum, c) => sum + c.sxx, 0);
  const pooledSxy = centred.reduce((sum, c) => sum + c.sxy, 0);
  const theta = pooledSxx === 0 ? null : pooledSxy / pooledSxx;

  return {
    theta,
    preExposureMean,
    variations: centred.map((c) => {
      const unadjusted: SampleSummary = { n: c.n, mean: c.n === 0 ? NaN : c.meanY, variance: c.n < 2 ? NaN : c.syy / (c.n - 1) };
      if (theta === null || preExposureMean === null) {
        return { adjusted: { ...unadjusted }, unadjusted, varianceReduction: unadjusted.variance > 0 ? 0 : null };
      }
      const adjustedSquares = Math.max(0, c.syy - 2 * theta * c.sxy + theta * theta * c.sxx);
      const adjusted: SampleSummary = {
        n: c.n,
        mean: c.n === 0 ? NaN : c.meanY - theta * (c.meanX - preExposureMean),
        variance: c.n < 2 ? NaN : adjustedSquares / (c.n - 1),
      };
      const varianceReduction = unadjusted.variance > 0 ? 1 - adjusted.variance / unadjusted.variance : null;
      return { adjusted, unadjusted, varianceReduction };
    }),
  };
}
