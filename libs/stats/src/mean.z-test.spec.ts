import { normalCdf } from './distribution.functions';
import { meanZTest } from './mean.z-test';
import { welchTTest } from './welch.t-test';

describe('meanZTest', () => {
  it('refers (x̄_t - x̄_c) / √(s_c²/n_c + s_t²/n_t) to the standard normal', () => {
    // SE = √(4/1000 + 4.4/1000) = √0.0084; z = 0.2 / SE ≈ 2.182.
    const control = { n: 1000, mean: 10, variance: 4 };
    const treatment = { n: 1000, mean: 10.2, variance: 4.4 };
    const se = Math.sqrt(0.0084);
    const z = 0.2 / se;
    const result = meanZTest(control, treatment, 'two-sided');
    expect(result.difference).toBeCloseTo(0.2, 14);
    expect(result.standardError).toBeCloseTo(se, 15);
    expect(result.z).toBeCloseTo(z, 12);
    // SciPy 1.17: 2 * norm.sf(0.2 / sqrt(0.0084)).
    expect(result.pValue).toBeCloseTo(0.029096331741252188, 14);
    expect(result.pValue).toBeCloseTo(2 * normalCdf(-z), 14);
    expect(meanZTest(control, treatment, 'greater').pValue).toBeCloseTo(normalCdf(-z), 14);
    expect(meanZTest(control, treatment, 'less').pValue).toBeCloseTo(normalCdf(z), 14);
    // A little smaller than Welch's p-value: the normal has thinner tails than t with ~1995 df.
    expect(result.pValue).toBeLessThan(welchTTest(control, treatment, 'two-sided').pValue);
  });

  it('keeps the precision of tiny p-values', () => {
    const result = meanZTest({ n: 10_000, mean: 0, variance: 1 }, { n: 10_000, mean: 0.5, variance: 1 }, 'two-sided');
    expect(result.z).toBeCloseTo(0.5 / Math.sqrt(2e-4), 10);
    expect(result.pValue).toBeGreaterThan(0);
    expect(result.pValue / (2 * normalCdf(-result.z!))).toBeCloseTo(1, 12);
  });

  it('answers "no evidence" (p = 1, z null) when the data cannot decide', () => {
    expect(meanZTest({ n: 0, mean: NaN, variance: NaN }, { n: 10, mean: 1, variance: 1 }, 'two-sided')).toEqual({
      difference: null,
      z: null,
      pValue: 1,
      standardError: null,
    });
    expect(meanZTest({ n: 1, mean: 2, variance: NaN }, { n: 10, mean: 1, variance: 1 }, 'greater')).toEqual({
      difference: -1,
      z: null,
      pValue: 1,
      standardError: null,
    });
    expect(meanZTest({ n: 5, mean: 2, variance: 0 }, { n: 5, mean: 3, variance: 0 }, 'two-sided')).toEqual({
      difference: 1,
      z: null,
      pValue: 1,
      standardError: 0,
    });
  });

  it('throws RangeError naming the arm and the field', () => {
    const ok = { n: 10, mean: 1, variance: 1 };
    expect(() => meanZTest(ok, { n: 10, mean: 1, variance: -1 }, 'two-sided')).toThrow(new RangeError('treatment.variance must not be negative, got -1'));
    expect(() => meanZTest({ n: -1, mean: 1, variance: 1 }, ok, 'two-sided')).toThrow(new RangeError('control.n must be a non-negative integer, got -1'));
    expect(() => meanZTest(ok, ok, 'both' as 'two-sided')).toThrow(RangeError);
  });
});
