import * as fc from 'fast-check';
import { summarizeRatio, type RatioSums } from './ratio.summary';

/** The sums the worker would keep, from per-unit (numerator, denominator) pairs. */
function sumsOf(units: Array<[number, number]>): RatioSums {
  let sumX = 0;
  let sumY = 0;
  let sumX2 = 0;
  let sumY2 = 0;
  let sumXY = 0;
  for (const [x, y] of units) {
    sumX += x;
    sumY += y;
    sumX2 += x * x;
    sumY2 += y * y;
    sumXY += x * y;
  }
  return { n: units.length, sumX, sumY, sumX2, sumY2, sumXY };
}

/**
 * Var(R) straight from the per-unit values, without any sums: two-pass sample (co)variances and
 * (s_x² - 2R·s_xy + R²·s_y²) / (n·ȳ²), the textbook delta method.
 */
function deltaMethodFromUnits(units: Array<[number, number]>): { ratio: number; varianceOfRatio: number } {
  const n = units.length;
  const xBar = units.reduce((s, [x]) => s + x, 0) / n;
  const yBar = units.reduce((s, [, y]) => s + y, 0) / n;
  const ratio = xBar / yBar;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (const [x, y] of units) {
    sxx += (x - xBar) ** 2;
    syy += (y - yBar) ** 2;
    sxy += (x - xBar) * (y - yBar);
  }
  const [vx, vy, cxy] = [sxx / (n - 1), syy / (n - 1), sxy / (n - 1)];
  return { ratio, varianceOfRatio: (vx - 2 * ratio * cxy + ratio * ratio * vy) / (n * yBar * yBar) };
}

describe('summarizeRatio', () => {
  it('gives R = Σx/Σy and, as variance, n times the delta-method variance of R', () => {
    // Five users: (summed latency, requests). The third made no request and still counts.
    const units: Array<[number, number]> = [[10, 2], [3, 1], [0, 0], [12, 3], [5, 1]];
    // R = 30/7, ȳ = 1.4; the residuals x - R·y are 10/7, -9/7, 0, -6/7, 5/7: squares 242/49.
    const summary = summarizeRatio(sumsOf(units));
    expect(summary.n).toBe(5);
    expect(summary.mean).toBeCloseTo(30 / 7, 14);
    expect(summary.variance).toBeCloseTo(242 / 49 / 4 / 1.96, 13);
    const independent = deltaMethodFromUnits(units);
    expect(summary.variance / summary.n).toBeCloseTo(independent.varianceOfRatio, 13);
  });

  it('matches the delta method computed from the per-unit values on random data', () => {
    const unit = fc.tuple(fc.double({ min: -1e4, max: 1e4, noNaN: true }), fc.integer({ min: 0, max: 50 }));
    fc.assert(
      fc.property(fc.array(unit, { minLength: 2, maxLength: 200 }), (units) => {
        fc.pre(units.some(([, y]) => y > 0));
        const summary = summarizeRatio(sumsOf(units));
        const independent = deltaMethodFromUnits(units);
        expect(summary.mean).toBeCloseTo(independent.ratio, 8);
        expect(summary.variance).toBeGreaterThanOrEqual(0);
        // Spread that survives cancellation agrees; spread below it is reported as 0.
        const scale = units.reduce((s, [x, y]) => s + x * x + independent.ratio ** 2 * y * y, 0) / (units.length * (units.length - 1));
        const yBar = units.reduce((s, [, y]) => s + y, 0) / units.length;
        expect(Math.abs(summary.variance / summary.n - independent.varianceOfRatio)).toBeLessThanOrEqual(
          1e-9 * independent.varianceOfRatio + (1e-11 * scale) / (yBar * yBar),
        );
      }),
      { seed: 19, numRuns: 300 },
    );
  });

  it('reports exactly 0 spread when every unit has the same ratio, whatever the rounding', () => {
    // 123.456 ms per request for every user: the centred sums leave about +3.5e-10 of rounding
    // noise in S_xx - 2R·S_xy + R²·S_yy, which would otherwise be a (tiny) positive variance.
    const units: Array<[number, number]> = [1, 3, 7, 2, 9, 4].map((requests) => [123.456 * requests, requests]);
    const sums = sumsOf(units);
    const ratio = sums.sumX / sums.sumY;
    const residual = sums.sumX2 - (sums.sumX * sums.sumX) / 6 - 2 * ratio * (sums.sumXY - (sums.sumX * sums.sumY) / 6) + ratio * ratio * (sums.sumY2 - (sums.sumY * sums.sumY) / 6);
    expect(residual).toBeGreaterThan(0);
    expect(summarizeRatio(sums)).toEqual({ n: 6, mean: expect.closeTo(123.456, 12) as number, variance: 0 });
  });

  it('gives NaN for what the data do not define: no units, no denominator, one unit', () => {
    expect(summarizeRatio({ n: 0, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 })).toEqual({ n: 0, mean: NaN, variance: NaN });
    // Three units without a single request: latency per request is undefined, not 0.
    expect(summarizeRatio({ n: 3, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 })).toEqual({ n: 3, mean: NaN, variance: NaN });
    expect(summarizeRatio(sumsOf([[12, 4]]))).toEqual({ n: 1, mean: 3, variance: NaN });
  });

  it('refuses bad or impossible sums, naming the label and the field', () => {
    const ok = sumsOf([[10, 2], [3, 1], [12, 3]]);
    expect(() => summarizeRatio({ ...ok, n: 2.5 }, 'control')).toThrow(new RangeError('control.n must be a non-negative integer, got 2.5'));
    expect(() => summarizeRatio({ ...ok, sumY: -1 }, 'control')).toThrow(new RangeError('control.sumY must not be negative, got -1'));
    expect(() => summarizeRatio({ ...ok, sumX: NaN })).toThrow(new RangeError('sums.sumX must be a finite number, got NaN'));
    expect(() => summarizeRatio({ ...ok, sumXY: Infinity })).toThrow(new RangeError('sums.sumXY must be a finite number, got Infinity'));
    expect(() => summarizeRatio({ ...ok, sumY2: -4 })).toThrow(new RangeError('sums.sumY2 must not be negative, got -4'));
    // Three units with Σy = 6 have Σy² >= 12.
    expect(() => summarizeRatio({ ...ok, sumY2: 11 })).toThrow(
      new RangeError('sums.sumY2 (11) is smaller than its sum²/n (12): these are not the sums of one sample'),
    );
    expect(() => summarizeRatio({ ...ok, sumXY: 200 })).toThrow(/^sums\.sumXY \(200\) is inconsistent with the other sums/);
    expect(() => summarizeRatio({ n: 0, sumX: 0, sumY: 0, sumX2: 4, sumY2: 0, sumXY: 0 })).toThrow(new RangeError('sums.sumX2 must be 0 when n is 0, got 4'));
  });
});
