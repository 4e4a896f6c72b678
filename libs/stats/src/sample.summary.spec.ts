import * as fc from 'fast-check';
import { summarize } from './sample.summary';
import { welchTTest } from './welch.t-test';

function sums(values: number[]): [number, number, number] {
  return [values.length, values.reduce((s, x) => s + x, 0), values.reduce((s, x) => s + x * x, 0)];
}

describe('summarize', () => {
  it('gives the mean and the sample variance (divided by n - 1)', () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations add up to 32.
    expect(summarize(...sums([2, 4, 4, 4, 5, 5, 7, 9]))).toEqual({ n: 8, mean: 5, variance: 32 / 7 });
    expect(summarize(2, 4, 10)).toEqual({ n: 2, mean: 2, variance: 2 }); // 1 and 3
  });

  it('gives NaN for what the sample cannot tell: both with no data, the variance with one value', () => {
    expect(summarize(0, 0, 0)).toEqual({ n: 0, mean: NaN, variance: NaN });
    expect(summarize(1, -2.5, 6.25)).toEqual({ n: 1, mean: -2.5, variance: NaN });
  });

  it('reports rounding noise around a zero spread as exactly 0, never a negative variance', () => {
    const [n, sum, sumOfSquares] = sums([0.1, 0.1, 0.1]);
    // The naive formula goes negative here: without the clamp the variance would be below 0.
    expect(sumOfSquares - (sum * sum) / n).toBeLessThan(0);
    expect(summarize(n, sum, sumOfSquares).variance).toBe(0);
    // And positive here: without the rounding bound the variance would be about 1e-11.
    const constant = sums(new Array<number>(100).fill(99.99));
    expect(constant[2] - (constant[1] * constant[1]) / constant[0]).toBeGreaterThan(0);
    expect(summarize(...constant).variance).toBe(0);
  });

  it('matches a two-pass computation on well-conditioned data, and never goes negative', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 200 }), (values) => {
        const mean = values.reduce((s, x) => s + x, 0) / values.length;
        const twoPass = values.reduce((s, x) => s + (x - mean) ** 2, 0) / (values.length - 1);
        const { variance } = summarize(...sums(values));
        expect(variance).toBeGreaterThanOrEqual(0);
        // Spread that survives the cancellation must agree; spread below it is reported as 0.
        const scale = values.reduce((s, x) => s + x * x, 0) / (values.length - 1);
        expect(Math.abs(variance - twoPass)).toBeLessThanOrEqual(1e-9 * twoPass + 1e-12 * scale);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it('refuses sums that no sample can have', () => {
    // Two values adding up to 10 have squares adding up to at least 50.
    expect(() => summarize(2, 10, 1)).toThrow(
      new RangeError('sumOfSquares (1) is smaller than sum²/n (50): these are not the sums of one sample'),
    );
    expect(() => summarize(0, 3, 9)).toThrow(new RangeError('sum and sumOfSquares must be 0 when n is 0, got 3 and 9'));
  });

  it('throws RangeError naming the bad argument', () => {
    expect(() => summarize(-1, 0, 0)).toThrow(new RangeError('n must be a non-negative integer, got -1'));
    expect(() => summarize(2.5, 1, 1)).toThrow(new RangeError('n must be a non-negative integer, got 2.5'));
    expect(() => summarize(3, NaN, 1)).toThrow(new RangeError('sum must be a finite number, got NaN'));
    expect(() => summarize(3, 1, Infinity)).toThrow(new RangeError('sumOfSquares must be a finite number, got Infinity'));
    expect(() => summarize(3, 1, -1)).toThrow(new RangeError('sumOfSquares must not be negative, got -1'));
  });

  it('feeds the Welch test directly, including the degenerate one-value arm', () => {
    const control = summarize(...sums([10, 12, 11, 13, 9]));
    const treatment = summarize(...sums([14, 15, 13, 16, 12]));
    expect(welchTTest(control, treatment, 'greater').difference).toBeCloseTo(3, 12);
    expect(welchTTest(summarize(1, 7, 49), treatment, 'greater')).toMatchObject({ difference: 7, pValue: 1, t: null });
  });
});
