import betaCdfOf from '@stdlib/stats-base-dists-beta-cdf';
import betaQuantileOf from '@stdlib/stats-base-dists-beta-quantile';
import chiSquareCdfOf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdfOf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantileOf from '@stdlib/stats-base-dists-normal-quantile';
import studentTCdfOf from '@stdlib/stats-base-dists-t-cdf';
import studentTQuantileOf from '@stdlib/stats-base-dists-t-quantile';

// Thin wrappers over stdlib's distribution functions. They exist so that the rest of the project
// depends on one typed surface, and so that bad parameters fail loudly (RangeError) instead of
// stdlib's silent NaN, which would otherwise flow into a p-value and compare false against alpha.

function requireNumber(name: string, value: number): void {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new RangeError(`${name} must be a number, got ${String(value)}`);
  }
}

function requireProbability(name: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RangeError(`${name} must be a probability in [0, 1], got ${String(value)}`);
  }
}

function requirePositive(name: string, value: number, infinityAllowed: boolean): void {
  const ok = typeof value === 'number' && value > 0 && (infinityAllowed || Number.isFinite(value));
  if (!ok) {
    throw new RangeError(`${name} must be a positive${infinityAllowed ? '' : ' finite'} number, got ${String(value)}`);
  }
}

/**
 * P(X <= x) for X ~ Normal(mean, standardDeviation²); the standard normal by default.
 * Accurate in the lower tail (stdlib computes it through erfc), so one-sided p-values are taken
 * as `normalCdf(-|z|)` rather than `1 - normalCdf(|z|)`.
 * @throws RangeError when x is NaN or standardDeviation is not a positive finite number.
 */
export function normalCdf(x: number, mean = 0, standardDeviation = 1): number {
  requireNumber('x', x);
  requireNumber('mean', mean);
  requirePositive('standardDeviation', standardDeviation, false);
  return normalCdfOf(x, mean, standardDeviation);
}

const INVERSE_SQRT_TWO_PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * stdlib computes the normal quantile as -√2·erfinv(1 - 2p), which loses relative precision in
 * the far lower tail (1e-8 relative at p = 1e-10, 2e-5 at p = 1e-12) and gives -Infinity below
 * p ≈ 1e-16, because 1 - 2p rounds. So: take the lower tail (1 - p is exact for p >= 0.5) and
 * solve ln Φ(x) = ln p by Newton's method on stdlib's erfc-based CDF, which is accurate there,
 * starting from stdlib's answer (or, where that is infinite, from the tail bound -√(-2 ln p)).
 * No approximation of our own: the CDF decides, the iteration only inverts it.
 */
function standardNormalQuantile(p: number): number {
  if (p > 0.5) return -standardNormalQuantile(1 - p);
  if (p === 0) return -Infinity;
  const logP = Math.log(p);
  const start = normalQuantileOf(p, 0, 1);
  // Φ(-38) ≈ 3e-316 is still above 0 in doubles, so the iteration never starts where Φ underflows.
  let x = Number.isFinite(start) ? start : Math.max(-Math.sqrt(-2 * logP), -38);
  for (let i = 0; i < 20; i++) {
    const cdf = normalCdfOf(x, 0, 1);
    const density = INVERSE_SQRT_TWO_PI * Math.exp(-0.5 * x * x);
    const step = ((Math.log(cdf) - logP) * cdf) / density;
    if (!Number.isFinite(step)) break;
    x -= step;
    if (Math.abs(step) <= 4 * Number.EPSILON * Math.abs(x)) break;
  }
  return x;
}

/**
 * The x with P(X <= x) = p for X ~ Normal(mean, standardDeviation²): critical values and
 * confidence bounds, accurate to about 1e-15 relative in both tails (for p down to 1e-307; below
 * that, in subnormal doubles, to what those hold). p = 0 gives -Infinity and p = 1 gives +Infinity.
 * @throws RangeError when p is outside [0, 1] or standardDeviation is not a positive finite number.
 */
export function normalQuantile(p: number, mean = 0, standardDeviation = 1): number {
  requireProbability('p', p);
  requireNumber('mean', mean);
  requirePositive('standardDeviation', standardDeviation, false);
  return mean + standardDeviation * standardNormalQuantile(p);
}

/**
 * P(T <= x) for Student's t with `degreesOfFreedom` (which may be fractional, as Welch's are).
 * Infinite degrees of freedom give the standard normal (stdlib itself would answer 0.5).
 * @throws RangeError when x is NaN or degreesOfFreedom is not positive.
 */
export function studentTCdf(x: number, degreesOfFreedom: number): number {
  requireNumber('x', x);
  requirePositive('degreesOfFreedom', degreesOfFreedom, true);
  if (degreesOfFreedom === Infinity) return normalCdfOf(x, 0, 1);
  return studentTCdfOf(x, degreesOfFreedom);
}

/**
 * The x with P(T <= x) = p for Student's t with `degreesOfFreedom`; infinite degrees of freedom
 * give the standard normal quantile (stdlib itself would answer NaN).
 * @throws RangeError when p is outside [0, 1] or degreesOfFreedom is not positive.
 */
export function studentTQuantile(p: number, degreesOfFreedom: number): number {
  requireProbability('p', p);
  requirePositive('degreesOfFreedom', degreesOfFreedom, true);
  if (degreesOfFreedom === Infinity) return standardNormalQuantile(p);
  return studentTQuantileOf(p, degreesOfFreedom);
}

/**
 * P(X <= x) for the chi-square distribution with `degreesOfFreedom`. Upper-tail p-values are
 * `1 - chiSquareCdf(...)`, so they are exact to about 1e-16 absolute, not relative: a p-value
 * below ~1e-16 comes out as 0.
 * @throws RangeError when x is NaN or degreesOfFreedom is not a positive finite number.
 */
export function chiSquareCdf(x: number, degreesOfFreedom: number): number {
  requireNumber('x', x);
  requirePositive('degreesOfFreedom', degreesOfFreedom, false);
  return chiSquareCdfOf(x, degreesOfFreedom);
}

/**
 * P(X <= x) for X ~ Beta(alpha, beta): the posterior of a conversion rate under a Beta prior,
 * for the Bayesian read-outs of experiments. x outside [0, 1] gives 0 or 1.
 * @throws RangeError when x is NaN or alpha or beta is not a positive finite number.
 */
export function betaCdf(x: number, alpha: number, beta: number): number {
  requireNumber('x', x);
  requirePositive('alpha', alpha, false);
  requirePositive('beta', beta, false);
  return betaCdfOf(x, alpha, beta);
}

/**
 * The x with P(X <= x) = p for X ~ Beta(alpha, beta): credible intervals of a rate.
 * @throws RangeError when p is outside [0, 1] or alpha or beta is not a positive finite number.
 */
export function betaQuantile(p: number, alpha: number, beta: number): number {
  requireProbability('p', p);
  requirePositive('alpha', alpha, false);
  requirePositive('beta', beta, false);
  return betaQuantileOf(p, alpha, beta);
}
