import * as fc from 'fast-check';
import type { Alternative } from './alternative';
import { studentTCdf } from './distribution.functions';
import type { SampleSummary } from './sample.summary';
import { twoProportionZTest } from './two-proportion.z-test';
import { welchTTest } from './welch.t-test';

describe('welchTTest', () => {
  it('uses the unpooled standard error and the Welch–Satterthwaite degrees of freedom', () => {
    const control = { n: 30, mean: 10, variance: 4 };
    const treatment = { n: 35, mean: 11.2, variance: 6.25 };
    const a = 4 / 30;
    const b = 6.25 / 35;
    const result = welchTTest(control, treatment, 'greater');
    expect(result.standardError).toBeCloseTo(Math.sqrt(a + b), 15);
    expect(result.t).toBeCloseTo(1.2 / Math.sqrt(a + b), 12);
    expect(result.degreesOfFreedom).toBeCloseTo((a + b) ** 2 / (a ** 2 / 29 + b ** 2 / 34), 10);
    expect(result.pValue).toBeCloseTo(studentTCdf(-result.t!, result.degreesOfFreedom!), 14);
    expect(result.difference).toBeCloseTo(1.2, 14);
    expect(result.relativeDifference).toBeCloseTo(0.12, 14);
  });

  it('has 2(n - 1) degrees of freedom for equal arms, and n - 1 of the varying arm when the other is constant', () => {
    expect(welchTTest({ n: 30, mean: 1, variance: 2 }, { n: 30, mean: 2, variance: 2 }, 'two-sided').degreesOfFreedom).toBeCloseTo(58, 12);
    expect(welchTTest({ n: 12, mean: 5, variance: 0 }, { n: 15, mean: 5.5, variance: 1.2 }, 'greater').degreesOfFreedom).toBeCloseTo(14, 12);
  });

  it('does not underflow with tiny variances (the naive Welch–Satterthwaite formula gives 0/0)', () => {
    const scaled = welchTTest({ n: 30, mean: 0, variance: 4e-300 }, { n: 35, mean: 1.2e-150, variance: 6.25e-300 }, 'greater');
    const plain = welchTTest({ n: 30, mean: 0, variance: 4 }, { n: 35, mean: 1.2, variance: 6.25 }, 'greater');
    expect(scaled.degreesOfFreedom).toBeCloseTo(plain.degreesOfFreedom!, 10);
    expect(scaled.t).toBeCloseTo(plain.t!, 10);
    expect(scaled.pValue).toBeCloseTo(plain.pValue, 12);
  });

  it("reads 'greater' as H1: treatment mean > control mean", () => {
    const control = { n: 200, mean: 120, variance: 400 };
    const slower = { n: 200, mean: 130, variance: 400 };
    expect(welchTTest(control, slower, 'greater').pValue).toBeLessThan(0.001);
    expect(welchTTest(control, slower, 'less').pValue).toBeGreaterThan(0.999);
    expect(welchTTest(slower, control, 'less').pValue).toBeLessThan(0.001);
  });

  it('keeps the sign of relativeDifference equal to the sign of the difference for a negative control mean', () => {
    const result = welchTTest({ n: 40, mean: -3, variance: 1 }, { n: 50, mean: -2.5, variance: 2 }, 'greater');
    expect(result.difference).toBe(0.5);
    expect(result.relativeDifference).toBeCloseTo(0.5 / 3, 15);
    expect(welchTTest({ n: 40, mean: 0, variance: 1 }, { n: 50, mean: 1, variance: 2 }, 'greater').relativeDifference).toBeNull();
  });

  it('gives every alternative a p-value of 1 when an arm has fewer than 2 observations or both are constant', () => {
    for (const alternative of ['greater', 'less', 'two-sided'] as const) {
      expect(welchTTest({ n: 0, mean: NaN, variance: NaN }, { n: 10, mean: 3, variance: 1 }, alternative)).toEqual({
        difference: null,
        relativeDifference: null,
        t: null,
        degreesOfFreedom: null,
        pValue: 1,
        standardError: null,
      });
      expect(welchTTest({ n: 1, mean: 2, variance: NaN }, { n: 10, mean: 3, variance: 1 }, alternative)).toEqual({
        difference: 1,
        relativeDifference: 0.5,
        t: null,
        degreesOfFreedom: null,
        pValue: 1,
        standardError: null,
      });
      expect(welchTTest({ n: 5, mean: 2, variance: 0 }, { n: 8, mean: 3, variance: 0 }, alternative)).toEqual({
        difference: 1,
        relativeDifference: 0.5,
        t: null,
        degreesOfFreedom: null,
        pValue: 1,
        standardError: 0,
      });
    }
  });

  it('agrees with the z-test on 0/1 data in large samples (t is nearly normal there)', () => {
    // 500 of 10,000 vs 580 of 10,000 as 0/1 observations: mean p, variance p(1 - p)·n/(n - 1).
    const arm = (n: number, successes: number): SampleSummary => {
      const p = successes / n;
      return { n, mean: p, variance: (p * (1 - p) * n) / (n - 1) };
    };
    const welch = welchTTest(arm(10_000, 500), arm(10_000, 580), 'greater');
    const z = twoProportionZTest({ units: 10_000, successes: 500 }, { units: 10_000, successes: 580 }, 'greater');
    expect(welch.pValue).toBeGreaterThan(0.005);
    expect(Math.abs(welch.pValue - z.pValue) / z.pValue).toBeLessThan(0.02);
  });

  it('throws RangeError naming the arm and the field, but ignores what the sample size makes meaningless', () => {
    const ok = { n: 10, mean: 1, variance: 1 };
    expect(() => welchTTest({ n: 10, mean: 1, variance: -1 }, ok, 'greater')).toThrow(
      new RangeError('control.variance must not be negative, got -1'),
    );
    expect(() => welchTTest(ok, { n: 10, mean: NaN, variance: 1 }, 'greater')).toThrow(
      new RangeError('treatment.mean must be a finite number, got NaN'),
    );
    expect(() => welchTTest(ok, { n: 3, mean: 1, variance: Infinity }, 'less')).toThrow(
      new RangeError('treatment.variance must be a finite number, got Infinity'),
    );
    expect(() => welchTTest({ n: 2.5, mean: 1, variance: 1 }, ok, 'less')).toThrow(
      new RangeError('control.n must be a non-negative integer, got 2.5'),
    );
    expect(() => welchTTest(ok, ok, 'up' as Alternative)).toThrow(RangeError);
    expect(welchTTest({ n: 1, mean: 4, variance: NaN }, ok, 'less').pValue).toBe(1);
  });

  it('p-values lie in [0, 1] and swapping the arms swaps greater and less', () => {
    const arm = fc.record({
      n: fc.integer({ min: 2, max: 100_000 }),
      mean: fc.double({ min: -1e3, max: 1e3, noNaN: true }),
      variance: fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
    });
    fc.assert(
      fc.property(arm, arm, (control, treatment) => {
        const greater = welchTTest(control, treatment, 'greater').pValue;
        const less = welchTTest(control, treatment, 'less').pValue;
        const twoSided = welchTTest(control, treatment, 'two-sided').pValue;
        for (const p of [greater, less, twoSided]) {
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThanOrEqual(1);
        }
        expect(welchTTest(treatment, control, 'less').pValue).toBeCloseTo(greater, 12);
        expect(greater + less).toBeCloseTo(1, 9);
        expect(twoSided).toBeCloseTo(Math.min(1, 2 * Math.min(greater, less)), 12);
      }),
      { seed: 11, numRuns: 300 },
    );
  });
});
