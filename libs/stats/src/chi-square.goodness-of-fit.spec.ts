import { chiSquareGoodnessOfFit } from './chi-square.goodness-of-fit';
import { normalCdf } from './distribution.functions';

describe('chiSquareGoodnessOfFit', () => {
  it("computes Pearson's statistic against counts expected from the weights", () => {
    // 60/40 against 50/50: (10² / 50) · 2 = 4 on 1 d.f.; P(χ²₁ >= 4) = P(|Z| >= 2) = 2Φ(-2).
    const result = chiSquareGoodnessOfFit([60, 40], [1, 1]);
    expect(result.statistic).toBeCloseTo(4, 14);
    expect(result.degreesOfFreedom).toBe(1);
    expect(result.pValue).toBeCloseTo(2 * normalCdf(-2), 14);
  });

  it('uses the weights only as proportions', () => {
    const a = chiSquareGoodnessOfFit([1010, 2050, 2940], [1, 2, 3]);
    const b = chiSquareGoodnessOfFit([1010, 2050, 2940], [10_000, 20_000, 30_000]);
    expect(b.statistic).toBeCloseTo(a.statistic, 12);
    expect(b.pValue).toBeCloseTo(a.pValue, 12);
    // Expected 1000, 2000, 3000: 100/1000 + 2500/2000 + 3600/3000 = 2.55 on 2 d.f.; P = e^(-2.55/2).
    expect(a.statistic).toBeCloseTo(2.55, 12);
    expect(a.degreesOfFreedom).toBe(2);
    expect(a.pValue).toBeCloseTo(Math.exp(-2.55 / 2), 12);
  });

  it('gives a p-value of 1 for a perfect fit and for no observations at all', () => {
    expect(chiSquareGoodnessOfFit([500, 500], [50, 50])).toEqual({ statistic: 0, degreesOfFreedom: 1, pValue: 1 });
    expect(chiSquareGoodnessOfFit([0, 0, 0], [1, 1, 2])).toEqual({ statistic: 0, degreesOfFreedom: 2, pValue: 1 });
  });

  it('flags a sample ratio mismatch that a glance would miss', () => {
    // 50.8% / 49.2% of 100,000 looks even, but is 5 standard deviations off a 50/50 split.
    expect(chiSquareGoodnessOfFit([50_800, 49_200], [50, 50]).pValue).toBeLessThan(1e-5);
  });

  it('never returns a negative p-value when the upper tail is below double precision', () => {
    const result = chiSquareGoodnessOfFit([100_000, 0], [1, 1]);
    expect(result.statistic).toBe(100_000);
    expect(result.pValue).toBe(0);
  });

  it('throws RangeError naming the bad entry', () => {
    expect(() => chiSquareGoodnessOfFit([1, 2], [1, 2, 3])).toThrow(
      new RangeError('observed has 2 categories but expectedWeights has 3'),
    );
    expect(() => chiSquareGoodnessOfFit([5], [1])).toThrow(new RangeError('at least 2 categories are needed, got 1'));
    expect(() => chiSquareGoodnessOfFit([5, -1], [1, 1])).toThrow(new RangeError('observed[1] must be a non-negative integer, got -1'));
    expect(() => chiSquareGoodnessOfFit([5, 1.5], [1, 1])).toThrow(RangeError);
    expect(() => chiSquareGoodnessOfFit([5, 5], [1, 0])).toThrow(
      new RangeError('expectedWeights[1] must be a positive finite number, got 0'),
    );
    expect(() => chiSquareGoodnessOfFit([5, 5], [NaN, 1])).toThrow(RangeError);
    expect(() => chiSquareGoodnessOfFit([5, 5], [Infinity, 1])).toThrow(RangeError);
  });
});
