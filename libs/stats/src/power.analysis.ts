import { type Alternative, requireAlternative } from './alternative';
import { normalCdf, normalQuantile } from './distribution.functions';
import { requireFinite, requireOpenProbability } from './input.validation';

/** Options of the power functions: the test the experiment will be read with. */
export interface PowerOptions {
  /** Significance level in (0, 1); 0.05 by default. */
  alpha?: number;
  /** The alternative of the planned test; 'two-sided' by default. */
  alternative?: Alternative;
}

/** Options of the minimum-detectable-effect functions. */
export interface MinimumDetectableEffectOptions extends PowerOptions {
  /** The power to reach, in (alpha, 1); 0.8 by default. */
  power?: number;
}

/** The design of a conversion experiment for {@link proportionPower}. */
export interface ProportionPowerInput {
  /** The control's conversion rate, in (0, 1). */
  controlRate: number;
  /** The treatment's conversion rate to detect, in [0, 1]. */
  treatmentRate: number;
  controlUnits: number;
  treatmentUnits: number;
}

/** The design of a mean-metric experiment for {@link meanPower}. */
export interface MeanPowerInput {
  /** The true difference treatment - control to detect, in the metric's units. */
  difference: number;
  /** Per-unit variance of the metric in each arm (use the control's for both when unsure). */
  controlVariance: number;
  treatmentVariance: number;
  controlN: number;
  treatmentN: number;
}

/** The smallest effect the experiment detects with the requested power. */
export interface MinimumDetectableEffect {
  /** Treatment - control, negative for alternative 'less'. */
  absolute: number;
  /** absolute / |control|; null when the control mean is 0 or was not given. */
  relative: number | null;
}

/** {@link MinimumDetectableEffect} for conversions, with the treatment rate it corresponds to. */
export interface ProportionMinimumDetectableEffect extends MinimumDetectableEffect {
  /** absolute / controlRate: never null, because the control rate is inside (0, 1). */
  relative: number;
  treatmentRate: number;
}

function requirePositiveCount(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

function requireRate(name: string, value: number, open: boolean): void {
  const ok = typeof value === 'number' && (open ? value > 0 && value < 1 : value >= 0 && value <= 1);
  if (!ok) throw new RangeError(`${name} must be a rate in ${open ? '(0, 1)' : '[0, 1]'}, got ${String(value)}`);
}

function requireVariance(name: string, value: number): void {
  if (typeof value !== 'number' || !(value > 0 && Number.isFinite(value))) {
    throw new RangeError(`${name} must be a positive finite number, got ${String(value)}`);
  }
}

function powerOptions(options: PowerOptions): { alpha: number; alternative: Alternative } {
  const alpha = options.alpha ?? 0.05;
  const alternative = options.alternative ?? 'two-sided';
  requireOpenProbability('alpha', alpha);
  requireAlternative(alternative);
  return { alpha, alternative };
}

function targetPower(options: MinimumDetectableEffectOptions, alpha: number): number {
  const power = options.power ?? 0.8;
  requireOpenProbability('power', power);
  if (!(power > alpha)) throw new RangeError(`power (${power}) must be greater than alpha (${alpha}): no effect at all is "detected" with probability alpha`);
  return power;
}

/**
 * P(reject H0) for a test that rejects when the estimate d̂ ~ N(Δ, se1²) falls beyond
 * critical·se0 (se0 the standard error under H0); the two-sided version counts both tails, so
 * it is exactly the rejection rate of the two-sided test, not the usual one-tail shortcut.
 */
function rejectionProbability(effect: number, se0: number, se1: number, alpha: number, alternative: Alternative): number {
  switch (alternative) {
    case 'greater':
      return normalCdf((effect + normalQuantile(alpha) * se0) / se1);
    case 'less':
      return normalCdf((-effect + normalQuantile(alpha) * se0) / se1);
    case 'two-sided': {
      const critical = normalQuantile(alpha / 2) * se0; // negative
      return Math.min(1, normalCdf((effect + critical) / se1) + normalCdf((-effect + critical) / se1));
    }
  }
}

function proportionStandardErrors(controlRate: number, treatmentRate: number, controlUnits: number, treatmentUnits: number): [number, number] {
  const pooled = (controlRate * controlUnits + treatmentRate * treatmentUnits) / (controlUnits + treatmentUnits);
  const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / controlUnits + 1 / treatmentUnits));
  const se1 = Math.sqrt((controlRate * (1 - controlRate)) / controlUnits + (treatmentRate * (1 - treatmentRate)) / treatmentUnits);
  return [se0, se1];
}

/**
 * The power of {@link twoProportionZTest} (pooled standard error) to detect a change of the
 * conversion rate from p_c to p_t with n_c and n_t units, by the normal approximation:
 *
 *   p̄ = (n_c·p_c + n_t·p_t)/(n_c + n_t),  SE₀ = √(p̄(1 - p̄)(1/n_c + 1/n_t)),  SE₁ = √(p_c(1 - p_c)/n_c + p_t(1 - p_t)/n_t)
 *   greater:    Φ((Δ - z_{1-α}·SE₀)/SE₁),   less: Φ((-Δ - z_{1-α}·SE₀)/SE₁)
 *   two-sided:  Φ((Δ - z_{1-α/2}·SE₀)/SE₁) + Φ((-Δ - z_{1-α/2}·SE₀)/SE₁),   Δ = p_t - p_c
 *
 * (the test rejects beyond z·SE₀, but under H1 the difference spreads by SE₁). At Δ = 0 this is alpha.
 * Wants the same large samples as the test; units must be independent.
 * @throws RangeError when controlRate is not in (0, 1), treatmentRate not in [0, 1], a unit count
 * is not a positive integer, alpha not in (0, 1) or the alternative is unknown.
 */
export function proportionPower(input: ProportionPowerInput, options: PowerOptions = {}): number {
  requireRate('controlRate', input.controlRate, true);
  requireRate('treatmentRate', input.treatmentRate, false);
  requirePositiveCount('controlUnits', input.controlUnits);
  requirePositiveCount('treatmentUnits', input.treatmentUnits);
  const { alpha, alternative } = powerOptions(options);
  const [se0, se1] = proportionStandardErrors(input.controlRate, input.treatmentRate, input.controlUnits, input.treatmentUnits);
  // SE₁ > 0 because p_c is inside (0, 1).
  return rejectionProbability(input.treatmentRate - input.controlRate, se0, se1, alpha, alternative);
}

/**
 * The power of {@link welchTTest} to detect a true difference Δ of means, by the normal
 * approximation (the t distribution is close to normal at the sample sizes where power matters):
 * SE = √(σ_c²/n_c + σ_t²/n_t) and, with SE₀ = SE₁ = SE, the same expressions as
 * {@link proportionPower}: two-sided Φ(Δ/SE - z_{1-α/2}) + Φ(-Δ/SE - z_{1-α/2}). Slightly
 * optimistic below a few dozen units per arm.
 * @throws RangeError when difference is not finite, a variance is not a positive finite number,
 * a count is not a positive integer, alpha not in (0, 1) or the alternative is unknown.
 */
export function meanPower(input: MeanPowerInput, options: PowerOptions = {}): number {
  requireFinite('difference', input.difference);
  requireVariance('controlVariance', input.controlVariance);
  requireVariance('treatmentVariance', input.treatmentVariance);
  requirePositiveCount('controlN', input.controlN);
  requirePositiveCount('treatmentN', input.treatmentN);
  const { alpha, alternative } = powerOptions(options);
  const se = Math.sqrt(input.controlVariance / input.controlN + input.treatmentVariance / input.treatmentN);
  return rejectionProbability(input.difference, se, se, alpha, alternative);
}

/** Bisection for the effect in (0, high] at which increasing `power` reaches `target`; 200 halvings reach full precision. */
function solve(power: (effect: number) => number, target: number, high: number): number {
  let low = 0;
  for (let i = 0; i < 200 && high - low > 4 * Number.EPSILON * high; i++) {
    const middle = (low + high) / 2;
    if (power(middle) < target) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The minimum detectable effect of a conversion experiment: the smallest change of the rate from
 * p_c that {@link proportionPower} detects with the requested power at the current (or planned)
 * n_c and n_t. There is no closed form because SE₁ and SE₀ depend on p_t, so p_t is solved for by
 * bisection: power(p_t) = target, with p_t above p_c ('greater' and 'two-sided') or below it
 * ('less'). For 'two-sided' this is the MDE of an increase (a decrease needs a slightly different one).
 *
 * Returns null when even p_t = 1 (or 0 for 'less') is not detected with that power: the sample is too small.
 * @throws RangeError when controlRate is not in (0, 1), a unit count is not a positive integer,
 * alpha not in (0, 1), power not in (alpha, 1) or the alternative is unknown.
 */
export function proportionMinimumDetectableEffect(
  input: { controlRate: number; controlUnits: number; treatmentUnits: number },
  options: MinimumDetectableEffectOptions = {},
): ProportionMinimumDetectableEffect | null {
  requireRate('controlRate', input.controlRate, true);
  requirePositiveCount('controlUnits', input.controlUnits);
  requirePositiveCount('treatmentUnits', input.treatmentUnits);
  const { alpha, alternative } = powerOptions(options);
  const target = targetPower(options, alpha);
  const { controlRate, controlUnits, treatmentUnits } = input;
  const sign = alternative === 'less' ? -1 : 1;
  const power = (effect: number): number => {
    const treatmentRate = controlRate + sign * effect;
    const [se0, se1] = proportionStandardErrors(controlRate, treatmentRate, controlUnits, treatmentUnits);
    return rejectionProbability(sign * effect, se0, se1, alpha, alternative);
  };
  const largest = sign > 0 ? 1 - controlRate : controlRate;
  if (power(largest) < target) return null;
  const absolute = sign * solve(power, target, largest);
  return { absolute, relative: absolute / controlRate, treatmentRate: controlRate + absolute };
}

/**
 * The minimum detectable effect of a mean-metric experiment: the Δ at which {@link meanPower}
 * equals the requested power. One-sided it is the textbook (z_{1-α} + z_{power})·SE; two-sided
 * it is solved by bisection with both tails counted, so it sits a hair below the textbook
 * (z_{1-α/2} + z_{power})·SE, which ignores the far tail. Negative for 'less'; relative is
 * Δ/|controlMean| when a non-zero controlMean is given.
 * @throws RangeError when a variance is not a positive finite number, a count is not a positive
 * integer, controlMean is given but not finite, alpha not in (0, 1), power not in (alpha, 1) or
 * the alternative is unknown.
 */
export function meanMinimumDetectableEffect(
  input: { controlVariance: number; treatmentVariance: number; controlN: number; treatmentN: number; controlMean?: number },
  options: MinimumDetectableEffectOptions = {},
): MinimumDetectableEffect {
  requireVariance('controlVariance', input.controlVariance);
  requireVariance('treatmentVariance', input.treatmentVariance);
  requirePositiveCount('controlN', input.controlN);
  requirePositiveCount('treatmentN', input.treatmentN);
  if (input.controlMean !== undefined) requireFinite('controlMean', input.controlMean);
  const { alpha, alternative } = powerOptions(options);
  const target = targetPower(options, alpha);
  const se = Math.sqrt(input.controlVariance / input.controlN + input.treatmentVariance / input.treatmentN);
  const sign = alternative === 'less' ? -1 : 1;
  let effect: number;
  if (alternative === 'two-sided') {
    const power = (delta: number): number => rejectionProbability(delta, se, se, alpha, alternative);
    effect = solve(power, target, (normalQuantile(1 - alpha / 2) + normalQuantile(target) + 1) * se);
  } else {
    effect = (-normalQuantile(alpha) + normalQuantile(target)) * se;
  }
  const absolute = sign * effect;
  const relative = input.controlMean === undefined || input.controlMean === 0 ? null : absolute / Math.abs(input.controlMean);
  return { absolute, relative };
}
