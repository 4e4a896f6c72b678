import * as fc from 'fast-check';
import { normalQuantile, studentTQuantile } from './distribution.functions';
import { meanZTest } from './mean.z-test';
import { meanUplift, normalMeanUplift, proportionUplift } from './uplift.interval';
import { welchTTest } from './welch.t-test';

describe('proportionUplift', () => {
  it('gives the Wald interval of the difference and the delta-method interval of the relative uplift', () => {
    // 100/2000 vs 130/2000: v_c = 0.05·0.95/2000, v_t = 0.065·0.935/2000.
    const result = proportionUplift({ units: 2000, successes: 100 }, { units: 2000, successes: 130 });
    const vc = (0.05 * 0.95) / 2000;
    const vt = (0.065 * 0.935) / 2000;
    const z = 1.959963984540054;
    expect(result.confidenceLevel).toBe(0.95);
    expect(result.absolute.estimate).toBeCloseTo(0.015, 15);
    expect(result.absolute.standardError).toBeCloseTo(Math.sqrt(vc + vt), 15);
    expect(result.absolute.lower).toBeCloseTo(0.015 - z * Math.sqrt(vc + vt), 14);
    expect(result.absolute.upper).toBeCloseTo(0.015 + z * Math.sqrt(vc + vt), 14);
    const relativeSe = Math.sqrt(vt / 0.05 ** 2 + (0.065 ** 2 * vc) / 0.05 ** 4);
    expect(result.relative.estimate).toBeCloseTo(0.3, 14);
    expect(result.relative.standardError).toBeCloseTo(relativeSe, 14);
    expect(result.relative.lower).toBeCloseTo(0.3 - z * relativeSe, 13);
    expect(result.relative.upper).toBeCloseTo(0.3 + z * relativeSe, 13);
    // +30%, about -3% to +63%: the relative interval also carries the uncertainty of the control
    // rate in its denominator, so it can include 0 while the absolute one (+0.06 to +2.9 points) does not.
    expect(result.relative.lower).toBeCloseTo(-0.029, 3);
    expect(result.relative.upper).toBeCloseTo(0.629, 3);
    expect(result.absolute.lower).toBeGreaterThan(0);
  });

  it('widens with the confidence level', () => {
    const control = { units: 5000, successes: 250 };
    const treatment = { units: 5000, successes: 280 };
    const at90 = proportionUplift(control, treatment, { confidenceLevel: 0.9 });
    const at99 = proportionUplift(control, treatment, { confidenceLevel: 0.99 });
    const width = (r: typeof at90): number => r.absolute.upper! - r.absolute.lower!;
    expect(width(at99) / width(at90)).toBeCloseTo(normalQuantile(0.995) / normalQuantile(0.95), 12);
  });

  it('gives null for what the data do not define', () => {
    const empty = proportionUplift({ units: 0, successes: 0 }, { units: 100, successes: 5 });
    expect(empty.absolute).toEqual({ estimate: null, standardError: null, lower: null, upper: null });
    expect(empty.relative).toEqual({ estimate: null, standardError: null, lower: null, upper: null });
    const zeroControl = proportionUplift({ units: 500, successes: 0 }, { units: 500, successes: 4 });
    expect(zeroControl.absolute.estimate).toBeCloseTo(0.008, 15);
    expect(zeroControl.absolute.lower).not.toBeNull();
    expect(zeroControl.relative.estimate).toBeNull();
    // Nobody converted anywhere: the difference is 0, but a zero-width interval would claim certainty.
    expect(proportionUplift({ units: 50, successes: 0 }, { units: 70, successes: 0 }).absolute).toEqual({
      estimate: 0,
      standardError: 0,
      lower: null,
      upper: null,
    });
  });

  it('throws RangeError naming the field', () => {
    const ok = { units: 10, successes: 1 };
    expect(() => proportionUplift(ok, ok, { confidenceLevel: 1 })).toThrow(
      new RangeError('confidenceLevel must be a number strictly between 0 and 1, got 1'),
    );
    expect(() => proportionUplift(ok, ok, { confidenceLevel: 95 })).toThrow(RangeError);
    expect(() => proportionUplift(ok, { units: 10, successes: 11 })).toThrow(
      new RangeError('treatment.successes (11) must not exceed treatment.units (10)'),
    );
  });
});

describe('meanUplift', () => {
  it("uses Welch's t for the absolute interval and the delta method for the relative one", () => {
    const control = { n: 30, mean: 10, variance: 4 };
    const treatment = { n: 35, mean: 11.2, variance: 6.25 };
    const result = meanUplift(control, treatment);
    const se = Math.sqrt(4 / 30 + 6.25 / 35);
    const t = welchTTest(control, treatment, 'two-sided');
    expect(result.degreesOfFreedom).toBeCloseTo(t.degreesOfFreedom!, 12);
    const critical = studentTQuantile(0.975, t.degreesOfFreedom!);
    expect(result.absolute.lower).toBeCloseTo(1.2 - critical * se, 12);
    expect(result.absolute.upper).toBeCloseTo(1.2 + critical * se, 12);
    const relativeSe = Math.sqrt(6.25 / 35 / 100 + (11.2 ** 2 * (4 / 30)) / 10 ** 4);
    expect(result.relative.estimate).toBeCloseTo(0.12, 14);
    expect(result.relative.standardError).toBeCloseTo(relativeSe, 14);
    expect(result.relative.upper).toBeCloseTo(0.12 + 1.959963984540054 * relativeSe, 12);
  });

  it("excludes 0 from the absolute interval exactly when Welch's two-sided p-value is below 1 - level", () => {
    const arm = fc.record({
      n: fc.integer({ min: 2, max: 10_000 }),
      mean: fc.double({ min: -100, max: 100, noNaN: true }),
      variance: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
    });
    fc.assert(
      fc.property(arm, arm, fc.constantFrom(0.8, 0.9, 0.95, 0.99), (control, treatment, confidenceLevel) => {
        const { absolute } = meanUplift(control, treatment, { confidenceLevel });
        const { pValue } = welchTTest(control, treatment, 'two-sided');
        // Away from the boundary itself, where rounding may decide either way.
        fc.pre(Math.abs(pValue - (1 - confidenceLevel)) > 1e-9);
        expect(absolute.lower! > 0 || absolute.upper! < 0).toBe(pValue < 1 - confidenceLevel);
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('keeps the sign of the relative uplift equal to the sign of the difference for a negative control mean', () => {
    const result = meanUplift({ n: 40, mean: -3, variance: 1 }, { n: 50, mean: -2.5, variance: 2 });
    expect(result.relative.estimate).toBeCloseTo(0.5 / 3, 15);
    expect(result.relative.lower! < result.relative.estimate! && result.relative.estimate! < result.relative.upper!).toBe(true);
  });

  it('gives null for what the data do not define', () => {
    expect(meanUplift({ n: 0, mean: NaN, variance: NaN }, { n: 5, mean: 1, variance: 1 })).toEqual({
      confidenceLevel: 0.95,
      absolute: { estimate: null, standardError: null, lower: null, upper: null },
      relative: { estimate: null, standardError: null, lower: null, upper: null },
      degreesOfFreedom: null,
    });
    expect(meanUplift({ n: 1, mean: 2, variance: NaN }, { n: 5, mean: 3, variance: 1 })).toEqual({
      confidenceLevel: 0.95,
      absolute: { estimate: 1, standardError: null, lower: null, upper: null },
      relative: { estimate: 0.5, standardError: null, lower: null, upper: null },
      degreesOfFreedom: null,
    });
    const constant = meanUplift({ n: 5, mean: 2, variance: 0 }, { n: 8, mean: 3, variance: 0 });
    expect(constant.absolute).toEqual({ estimate: 1, standardError: 0, lower: null, upper: null });
    expect(constant.degreesOfFreedom).toBeNull();
    expect(meanUplift({ n: 10, mean: 0, variance: 1 }, { n: 10, mean: 1, variance: 1 }).relative.estimate).toBeNull();
  });

  it('throws RangeError naming the arm and the field', () => {
    const ok = { n: 10, mean: 1, variance: 1 };
    expect(() => meanUplift(ok, { n: 10, mean: 1, variance: -1 })).toThrow(new RangeError('treatment.variance must not be negative, got -1'));
    expect(() => meanUplift(ok, ok, { confidenceLevel: 0 })).toThrow(
      new RangeError('confidenceLevel must be a number strictly between 0 and 1, got 0'),
    );
  });
});

describe('normalMeanUplift', () => {
  it('refers the absolute interval to the normal and shares the relative one with meanUplift', () => {
    // A ratio metric's summaries: R_c = 120 ms, R_t = 114 ms, Var(R) = 2.25 and 2.56 (variance / n).
    const control = { n: 2000, mean: 120, variance: 2.25 * 2000 };
    const treatment = { n: 2100, mean: 114, variance: 2.56 * 2100 };
    const result = normalMeanUplift(control, treatment, { confidenceLevel: 0.9 });
    const se = Math.sqrt(2.25 + 2.56);
    const z = normalQuantile(0.95);
    expect(result.confidenceLevel).toBe(0.9);
    expect(result.absolute.estimate).toBeCloseTo(-6, 12);
    expect(result.absolute.standardError).toBeCloseTo(se, 14);
    expect(result.absolute.lower).toBeCloseTo(-6 - z * se, 12);
    expect(result.absolute.upper).toBeCloseTo(-6 + z * se, 12);
    // R_t/R_c - 1 = -5%, SE √(v_t/R_c² + R_t²·v_c/R_c⁴).
    const relativeSe = Math.sqrt(2.56 / 120 ** 2 + (114 ** 2 * 2.25) / 120 ** 4);
    expect(result.relative).toEqual({
      estimate: expect.closeTo(-0.05, 15) as number,
      standardError: expect.closeTo(relativeSe, 15) as number,
      lower: expect.closeTo(-0.05 - z * relativeSe, 14) as number,
      upper: expect.closeTo(-0.05 + z * relativeSe, 14) as number,
    });
    expect(result.relative).toEqual(meanUplift(control, treatment, { confidenceLevel: 0.9 }).relative);
    expect(result).not.toHaveProperty('degreesOfFreedom');
  });

  it("excludes 0 from the absolute interval exactly when the z-test's two-sided p-value is below 1 - level", () => {
    const arm = fc.record({
      n: fc.integer({ min: 2, max: 10_000 }),
      mean: fc.double({ min: -100, max: 100, noNaN: true }),
      variance: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
    });
    fc.assert(
      fc.property(arm, arm, fc.constantFrom(0.8, 0.9, 0.95, 0.99), (control, treatment, confidenceLevel) => {
        const { absolute } = normalMeanUplift(control, treatment, { confidenceLevel });
        const { pValue } = meanZTest(control, treatment, 'two-sided');
        fc.pre(Math.abs(pValue - (1 - confidenceLevel)) > 1e-9);
        expect(absolute.lower! > 0 || absolute.upper! < 0).toBe(pValue < 1 - confidenceLevel);
      }),
      { seed: 8, numRuns: 300 },
    );
  });

  it('gives null for what the data do not define, as meanUplift does', () => {
    expect(normalMeanUplift({ n: 0, mean: NaN, variance: NaN }, { n: 5, mean: 1, variance: 1 }).absolute.estimate).toBeNull();
    expect(normalMeanUplift({ n: 1, mean: 2, variance: NaN }, { n: 5, mean: 3, variance: 1 })).toEqual({
      confidenceLevel: 0.95,
      absolute: { estimate: 1, standardError: null, lower: null, upper: null },
      relative: { estimate: 0.5, standardError: null, lower: null, upper: null },
    });
    expect(normalMeanUplift({ n: 5, mean: 2, variance: 0 }, { n: 8, mean: 3, variance: 0 }).absolute).toEqual({ estimate: 1, standardError: 0, lower: null, upper: null });
    expect(() => normalMeanUplift({ n: 3, mean: NaN, variance: 1 }, { n: 5, mean: 3, variance: 1 })).toThrow(new RangeError('control.mean must be a finite number, got NaN'));
  });
});
