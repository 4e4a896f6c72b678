import { betaBinomialComparison, normalMeanComparison } from './bayesian.comparison';
import { normalCdf } from './distribution.functions';

describe('betaBinomialComparison', () => {
  it('updates the Beta(1, 1) prior by default', () => {
    const result = betaBinomialComparison({ units: 1000, successes: 30 }, { units: 1000, successes: 40 });
    expect(result.controlPosterior).toEqual({ alpha: 31, beta: 971 });
    expect(result.treatmentPosterior).toEqual({ alpha: 41, beta: 961 });
    const jeffreys = betaBinomialComparison({ units: 1000, successes: 30 }, { units: 1000, successes: 40 }, { prior: { alpha: 0.5, beta: 0.5 } });
    expect(jeffreys.controlPosterior).toEqual({ alpha: 30.5, beta: 970.5 });
  });

  it('gives 1/2 and equal losses for identical arms, and the prior answer with no data', () => {
    const same = betaBinomialComparison({ units: 5000, successes: 250 }, { units: 5000, successes: 250 });
    expect(same.chanceToBeatControl).toBeCloseTo(0.5, 12);
    expect(same.expectedLossTreatment).toBeCloseTo(same.expectedLossControl!, 14);
    // Two independent uniforms: E[max(X - Y, 0)] = 1/6.
    const none = betaBinomialComparison({ units: 0, successes: 0 }, { units: 0, successes: 0 });
    expect(none.chanceToBeatControl).toBeCloseTo(0.5, 12);
    expect(none.expectedLossTreatment).toBeCloseTo(1 / 6, 12);
    expect(none.expectedLossControl).toBeCloseTo(1 / 6, 12);
  });

  it('knows a closed form: P(Y > X) for X ~ Beta(1, 1), Y ~ Beta(2, 1) is 2/3', () => {
    // Control: no units; treatment: one conversion in one unit.
    const result = betaBinomialComparison({ units: 0, successes: 0 }, { units: 1, successes: 1 });
    expect(result.chanceToBeatControl).toBeCloseTo(2 / 3, 12);
    // E[max(X - Y, 0)] = ∫∫_{x > y} (x - y)·2y dy dx = 1/12; E[max(Y - X, 0)] = 1/12 + (2/3 - 1/2) = 1/4.
    expect(result.expectedLossTreatment).toBeCloseTo(1 / 12, 12);
    expect(result.expectedLossControl).toBeCloseTo(1 / 4, 12);
  });

  it('mirrors when the arms are swapped, and when lower is better', () => {
    const a = { units: 2000, successes: 100 };
    const b = { units: 2000, successes: 130 };
    const forward = betaBinomialComparison(a, b);
    const swapped = betaBinomialComparison(b, a);
    const lower = betaBinomialComparison(a, b, { lowerIsBetter: true });
    expect(forward.chanceToBeatControl).toBeCloseTo(0.979, 3);
    expect(swapped.chanceToBeatControl).toBeCloseTo(1 - forward.chanceToBeatControl!, 12);
    expect(swapped.expectedLossTreatment).toBeCloseTo(forward.expectedLossControl!, 14);
    expect(lower.chanceToBeatControl).toBeCloseTo(1 - forward.chanceToBeatControl!, 12);
    expect(lower.expectedLossTreatment).toBe(forward.expectedLossControl);
    expect(lower.expectedLossControl).toBe(forward.expectedLossTreatment);
    // The intervals describe treatment - control either way.
    expect(lower.absolute).toEqual(forward.absolute);
  });

  it('keeps E[max(Y - X, 0)] - E[max(X - Y, 0)] = E[Y] - E[X]', () => {
    for (const [control, treatment] of [
      [{ units: 10, successes: 1 }, { units: 50_000, successes: 2500 }],
      [{ units: 500, successes: 450 }, { units: 480, successes: 470 }],
      [{ units: 100_000, successes: 5000 }, { units: 100_000, successes: 5200 }],
    ]) {
      const result = betaBinomialComparison(control, treatment);
      const meanX = result.controlPosterior.alpha / (result.controlPosterior.alpha + result.controlPosterior.beta);
      const meanY = result.treatmentPosterior.alpha / (result.treatmentPosterior.alpha + result.treatmentPosterior.beta);
      expect(result.expectedLossControl! - result.expectedLossTreatment!).toBeCloseTo(meanY - meanX, 13);
    }
  });

  it('does not round a tiny chance to 0 (it is computed directly, not as 1 - P)', () => {
    const result = betaBinomialComparison({ units: 100_000, successes: 6000 }, { units: 100_000, successes: 5000 });
    // Evan Miller's exact sum (mpmath, 40 digits): P(Y > X) = 4.896460767064907e-23.
    expect(result.chanceToBeatControl).toBeGreaterThan(0);
    expect(Math.abs(result.chanceToBeatControl! - 4.896460767064907e-23)).toBeLessThan(1e-24);
    expect(result.expectedLossTreatment).toBeCloseTo(0.01, 4);
  });

  it('approaches the normal approximation in large samples', () => {
    const result = betaBinomialComparison({ units: 200_000, successes: 10_000 }, { units: 200_000, successes: 10_250 });
    const p1 = 10_001 / 200_002;
    const p2 = 10_251 / 200_002;
    const z = (p2 - p1) / Math.sqrt((p1 * (1 - p1)) / 200_003 + (p2 * (1 - p2)) / 200_003);
    expect(Math.abs(result.chanceToBeatControl! - normalCdf(z))).toBeLessThan(0.002);
  });

  it('gives a relative interval on the log scale: above -100% and skewed upwards', () => {
    const { relative } = betaBinomialComparison({ units: 200, successes: 4 }, { units: 200, successes: 9 });
    expect(relative.lower).toBeGreaterThan(-1);
    expect(relative.upper! - relative.estimate!).toBeGreaterThan(relative.estimate! - relative.lower!);
  });

  it('throws RangeError naming the field', () => {
    const ok = { units: 10, successes: 1 };
    expect(() => betaBinomialComparison(ok, ok, { prior: { alpha: 0, beta: 1 } })).toThrow(
      new RangeError('prior.alpha must be a positive finite number, got 0'),
    );
    expect(() => betaBinomialComparison(ok, ok, { credibleLevel: 1.5 })).toThrow(
      new RangeError('credibleLevel must be a number strictly between 0 and 1, got 1.5'),
    );
    expect(() => betaBinomialComparison(ok, ok, { lowerIsBetter: 'yes' as unknown as boolean })).toThrow(
      new RangeError('lowerIsBetter must be a boolean, got yes'),
    );
    expect(() => betaBinomialComparison({ units: 3, successes: 4 }, ok)).toThrow(
      new RangeError('control.successes (4) must not exceed control.units (3)'),
    );
  });
});

describe('normalMeanComparison', () => {
  it('uses the closed forms of the normal posterior of the difference', () => {
    const result = normalMeanComparison({ n: 1000, mean: 10, variance: 4 }, { n: 1000, mean: 10.2, variance: 4.4 });
    const se = Math.sqrt(0.0084);
    const phi = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    const z = 0.2 / se;
    expect(result.chanceToBeatControl).toBeCloseTo(normalCdf(z), 14);
    expect(result.expectedLossTreatment).toBeCloseTo(se * phi(z) - 0.2 * normalCdf(-z), 14);
    expect(result.expectedLossControl).toBeCloseTo(se * phi(z) + 0.2 * normalCdf(z), 14);
    expect(result.absolute.lower).toBeCloseTo(0.2 - 1.959963984540054 * se, 12);
  });

  it('gives 1/2 and SE/√(2π) for both losses when the means are equal', () => {
    const result = normalMeanComparison({ n: 20, mean: 5, variance: 1 }, { n: 20, mean: 5, variance: 1 });
    const se = Math.sqrt(0.1);
    expect(result.chanceToBeatControl).toBe(0.5);
    expect(result.expectedLossTreatment).toBeCloseTo(se / Math.sqrt(2 * Math.PI), 15);
    expect(result.expectedLossControl).toBeCloseTo(se / Math.sqrt(2 * Math.PI), 15);
  });

  it('flips with lowerIsBetter', () => {
    const control = { n: 300, mean: 250, variance: 900 };
    const faster = { n: 320, mean: 245, variance: 1100 };
    const higher = normalMeanComparison(control, faster);
    const lower = normalMeanComparison(control, faster, { lowerIsBetter: true });
    expect(lower.chanceToBeatControl).toBeGreaterThan(0.9);
    expect(lower.chanceToBeatControl).toBeCloseTo(1 - higher.chanceToBeatControl!, 14);
    expect(lower.expectedLossTreatment).toBeCloseTo(higher.expectedLossControl!, 14);
  });

  it('gives null where a flat prior has no answer', () => {
    expect(normalMeanComparison({ n: 1, mean: 2, variance: NaN }, { n: 10, mean: 3, variance: 1 })).toEqual({
      chanceToBeatControl: null,
      expectedLossTreatment: null,
      expectedLossControl: null,
      credibleLevel: 0.95,
      absolute: { estimate: 1, lower: null, upper: null },
      relative: { estimate: 0.5, lower: null, upper: null },
    });
    expect(normalMeanComparison({ n: 5, mean: 2, variance: 0 }, { n: 5, mean: 3, variance: 0 }).chanceToBeatControl).toBeNull();
    expect(normalMeanComparison({ n: 5, mean: 0, variance: 1 }, { n: 5, mean: 3, variance: 1 }).relative).toEqual({
      estimate: null,
      lower: null,
      upper: null,
    });
  });
});
