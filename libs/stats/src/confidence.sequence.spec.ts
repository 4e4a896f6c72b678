import * as fc from 'fast-check';
import { meanConfidenceSequence, proportionConfidenceSequence } from './confidence.sequence';
import { normalQuantile } from './distribution.functions';
import { twoProportionZTest } from './two-proportion.z-test';

describe('confidence sequences', () => {
  it('follow the normal-mixture boundary of Waudby-Smith et al. (eq. 9)', () => {
    // 1000 per arm, means 10 and 10.3, variances 4 and 4.4; alpha 0.05, N* = 5000.
    const result = meanConfidenceSequence({ n: 1000, mean: 10, variance: 4 }, { n: 1000, mean: 10.3, variance: 4.4 });
    const se = Math.sqrt(4 / 1000 + 4.4 / 1000);
    const rho2 = (-2 * Math.log(0.05) + Math.log(1 - 2 * Math.log(0.05))) / 5000;
    const n = 2000;
    const sigma = se * Math.sqrt(n);
    const half = sigma * Math.sqrt(((2 * (n * rho2 + 1)) / (n * n * rho2)) * Math.log(Math.sqrt(n * rho2 + 1) / 0.05));
    expect(result.difference).toBeCloseTo(0.3, 14);
    expect(result.standardError).toBeCloseTo(se, 15);
    expect(result.lower).toBeCloseTo(0.3 - half, 12);
    expect(result.upper).toBeCloseTo(0.3 + half, 12);
  });

  it('are wider than the fixed-horizon interval at the same sample size: the price of peeking', () => {
    for (const units of [500, 5000, 50_000]) {
      const result = proportionConfidenceSequence({ units, successes: units / 10 }, { units, successes: units / 10 + units / 100 });
      const fixedHalfWidth = -normalQuantile(0.025) * result.standardError!;
      const ratio = (result.upper! - result.difference!) / fixedHalfWidth;
      expect(ratio).toBeGreaterThan(1.2);
      expect(ratio).toBeLessThan(3);
    }
  });

  it('are narrowest at N = tuningSampleSize among the tunings', () => {
    const control = { n: 2500, mean: 1, variance: 1 };
    const treatment = { n: 2500, mean: 1.1, variance: 1 };
    const width = (tuningSampleSize: number): number => {
      const { lower, upper } = meanConfidenceSequence(control, treatment, { tuningSampleSize });
      return upper! - lower!;
    };
    expect(width(5000)).toBeLessThan(width(5000 / 3));
    expect(width(5000)).toBeLessThan(width(5000 * 3));
  });

  it('reject (p < alpha) exactly when the interval excludes 0', () => {
    const arm = fc.integer({ min: 50, max: 200_000 }).chain((units) =>
      fc.record({ units: fc.constant(units), successes: fc.integer({ min: 0, max: units }) }),
    );
    fc.assert(
      fc.property(arm, arm, fc.constantFrom(0.01, 0.05, 0.1), fc.integer({ min: 100, max: 1_000_000 }), (control, treatment, alpha, tuningSampleSize) => {
        const result = proportionConfidenceSequence(control, treatment, { alpha, tuningSampleSize });
        expect(result.pValue).toBeGreaterThanOrEqual(0);
        expect(result.pValue).toBeLessThanOrEqual(1);
        if (result.lower === null) {
          expect(result.pValue).toBe(1);
          return;
        }
        fc.pre(Math.abs(result.pValue - alpha) > 1e-9);
        expect(result.lower > 0 || result.upper! < 0).toBe(result.pValue < alpha);
      }),
      { seed: 19, numRuns: 400 },
    );
  });

  it('give a larger p-value than the fixed-horizon z-test on the same data', () => {
    const control = { units: 10_000, successes: 500 };
    const treatment = { units: 10_000, successes: 630 };
    const sequential = proportionConfidenceSequence(control, treatment).pValue;
    const fixed = twoProportionZTest(control, treatment, 'two-sided').pValue;
    expect(fixed).toBeLessThan(0.0002);
    expect(sequential).toBeGreaterThan(fixed);
    expect(sequential).toBeLessThan(0.05);
    // No difference at all: no evidence.
    expect(proportionConfidenceSequence(control, control).pValue).toBe(1);
  });

  it('give null bounds and p-value 1 where the data cannot decide', () => {
    expect(proportionConfidenceSequence({ units: 0, successes: 0 }, { units: 10, successes: 1 })).toEqual({
      difference: null,
      standardError: null,
      lower: null,
      upper: null,
      pValue: 1,
    });
    expect(proportionConfidenceSequence({ units: 40, successes: 0 }, { units: 40, successes: 0 })).toEqual({
      difference: 0,
      standardError: 0,
      lower: null,
      upper: null,
      pValue: 1,
    });
    expect(meanConfidenceSequence({ n: 1, mean: 3, variance: NaN }, { n: 10, mean: 4, variance: 1 })).toEqual({
      difference: 1,
      standardError: null,
      lower: null,
      upper: null,
      pValue: 1,
    });
  });

  it('throw RangeError naming the option or field', () => {
    const ok = { units: 100, successes: 10 };
    expect(() => proportionConfidenceSequence(ok, ok, { alpha: 0 })).toThrow(
      new RangeError('alpha must be a number strictly between 0 and 1, got 0'),
    );
    expect(() => proportionConfidenceSequence(ok, ok, { tuningSampleSize: 0 })).toThrow(
      new RangeError('tuningSampleSize must be a positive finite number, got 0'),
    );
    expect(() => proportionConfidenceSequence(ok, ok, { tuningSampleSize: Infinity })).toThrow(RangeError);
    expect(() => meanConfidenceSequence({ n: -1, mean: 0, variance: 0 }, { n: 2, mean: 0, variance: 1 })).toThrow(
      new RangeError('control.n must be a non-negative integer, got -1'),
    );
  });
});
