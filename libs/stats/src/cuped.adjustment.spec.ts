import * as fc from 'fast-check';
import { cupedAdjustment, type CupedSums } from './cuped.adjustment';
import { meanUplift } from './uplift.interval';
import { welchTTest } from './welch.t-test';

function sums(xs: number[], ys: number[]): CupedSums {
  let sumX = 0;
  let sumY = 0;
  let sumOfSquaresX = 0;
  let sumOfSquaresY = 0;
  let sumOfProducts = 0;
  xs.forEach((x, i) => {
    const y = ys[i];
    sumX += x;
    sumY += y;
    sumOfSquaresX += x * x;
    sumOfSquaresY += y * y;
    sumOfProducts += x * y;
  });
  return { n: xs.length, sumY, sumOfSquaresY, sumX, sumOfSquaresX, sumOfProducts };
}

function variance(values: number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1);
}

describe('cupedAdjustment', () => {
  it('removes all variance when y is an exact linear function of x, and keeps the treatment effect', () => {
    // y = 3 + 2x in control and 4 + 2x in treatment (an effect of +1), different x in each arm.
    const controlX = [1, 2, 3, 4, 5];
    const treatmentX = [2, 2, 4, 6, 7, 9];
    const result = cupedAdjustment([
      sums(controlX, controlX.map((x) => 3 + 2 * x)),
      sums(treatmentX, treatmentX.map((x) => 4 + 2 * x)),
    ]);
    expect(result.theta).toBeCloseTo(2, 12);
    const xBar = (15 + 30) / 11;
    expect(result.preExposureMean).toBeCloseTo(xBar, 14);
    const [control, treatment] = result.variations;
    expect(control.adjusted.mean).toBeCloseTo(3 + 2 * xBar, 12);
    expect(treatment.adjusted.mean).toBeCloseTo(4 + 2 * xBar, 12);
    expect(control.adjusted.variance).toBeCloseTo(0, 10);
    expect(control.varianceReduction).toBeCloseTo(1, 10);
    // The raw means differ by 1 + 2·(5 - 3) = 5: the imbalance of x, not the treatment.
    expect(treatment.unadjusted.mean - control.unadjusted.mean).toBeCloseTo(5, 12);
  });

  it('matches the adjusted values y - θ(x - x̄) computed unit by unit', () => {
    const point = fc.tuple(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: -100, max: 100, noNaN: true }));
    const arm = fc.array(point, { minLength: 3, maxLength: 60 });
    fc.assert(
      fc.property(fc.array(arm, { minLength: 1, maxLength: 4 }), (arms) => {
        const result = cupedAdjustment(arms.map((units) => sums(units.map(([x]) => x), units.map(([, y]) => y))));
        fc.pre(result.theta !== null);
        const allX = arms.flat().map(([x]) => x);
        const xBar = allX.reduce((s, x) => s + x, 0) / allX.length;
        expect(result.preExposureMean).toBeCloseTo(xBar, 8);
        arms.forEach((units, k) => {
          const adjusted = units.map(([x, y]) => y - result.theta! * (x - xBar));
          const mean = adjusted.reduce((s, v) => s + v, 0) / adjusted.length;
          const scale = 1 + Math.max(...units.map(([x, y]) => Math.abs(x) + Math.abs(y))) * (1 + Math.abs(result.theta!));
          expect(Math.abs(result.variations[k].adjusted.mean - mean)).toBeLessThan(1e-9 * scale);
          expect(Math.abs(result.variations[k].adjusted.variance - variance(adjusted))).toBeLessThan(1e-9 * scale * scale);
        });
      }),
      { seed: 23, numRuns: 200 },
    );
  });

  it('never increases the pooled within-variation variance (θ is its least-squares minimiser)', () => {
    const result = cupedAdjustment([
      sums([1, 5, 2, 8, 3], [2, 3, 9, 1, 4]),
      sums([4, 4, 6, 1], [7, 2, 5, 5]),
    ]);
    const pooled = (key: 'adjusted' | 'unadjusted'): number =>
      result.variations.reduce((s, v) => s + v[key].variance * (v[key].n - 1), 0);
    expect(pooled('adjusted')).toBeLessThanOrEqual(pooled('unadjusted'));
  });

  it('feeds the t-test and the uplift interval, which get narrower', () => {
    const result = cupedAdjustment([
      sums([10, 12, 9, 15, 11, 13], [21, 25, 18, 31, 22, 27]),
      sums([11, 14, 10, 12, 16, 9], [25, 30, 22, 26, 34, 20]),
    ]);
    const [control, treatment] = result.variations;
    const raw = welchTTest(control.unadjusted, treatment.unadjusted, 'two-sided');
    const adjusted = welchTTest(control.adjusted, treatment.adjusted, 'two-sided');
    expect(adjusted.standardError!).toBeLessThan(raw.standardError! / 3);
    expect(adjusted.pValue).toBeLessThan(raw.pValue);
    const uplift = meanUplift(control.adjusted, treatment.adjusted);
    expect(uplift.absolute.estimate).toBeCloseTo(
      treatment.unadjusted.mean - control.unadjusted.mean - result.theta! * (72 / 6 - 70 / 6),
      12,
    );
  });

  it('leaves the data alone when x has no spread, and reports NaN like summarize for tiny arms', () => {
    const result = cupedAdjustment([sums([5, 5, 5], [1, 2, 3]), sums([5, 5], [2, 4])]);
    expect(result.theta).toBeNull();
    expect(result.variations[0].adjusted).toEqual(result.variations[0].unadjusted);
    expect(result.variations[0].varianceReduction).toBe(0);
    const tiny = cupedAdjustment([{ n: 0, sumY: 0, sumOfSquaresY: 0, sumX: 0, sumOfSquaresX: 0, sumOfProducts: 0 }, sums([1], [2]), sums([1, 2], [1, 3])]);
    expect(tiny.variations[0].adjusted).toEqual({ n: 0, mean: NaN, variance: NaN });
    expect(tiny.variations[1].adjusted.variance).toBeNaN();
    expect(tiny.variations[1].varianceReduction).toBeNull();
    expect(tiny.theta).toBe(2);
  });

  it('refuses sums that no sample can have, naming the variation and the field', () => {
    const ok = sums([1, 2, 3], [2, 4, 7]);
    expect(() => cupedAdjustment([])).toThrow(new RangeError('at least 1 variation is needed, got 0'));
    expect(() => cupedAdjustment([ok, { ...ok, sumOfProducts: 100 }])).toThrow(
      new RangeError(
        'variations[1].sumOfProducts (100) is inconsistent with the other sums (|S_xy| > √(S_xx·S_yy)): these are not the sums of one sample',
      ),
    );
    expect(() => cupedAdjustment([{ ...ok, sumOfSquaresX: 1 }])).toThrow(
      new RangeError('variations[0].sumOfSquaresX (1) is smaller than its sum²/n (12): these are not the sums of one sample'),
    );
    expect(() => cupedAdjustment([{ ...ok, n: 1.5 }])).toThrow(new RangeError('variations[0].n must be a non-negative integer, got 1.5'));
    expect(() => cupedAdjustment([{ ...ok, sumY: NaN }])).toThrow(new RangeError('variations[0].sumY must be a finite number, got NaN'));
    expect(() => cupedAdjustment([{ ...ok, sumOfSquaresY: -1 }])).toThrow(new RangeError('variations[0].sumOfSquaresY must not be negative, got -1'));
    expect(() => cupedAdjustment([{ n: 0, sumY: 0, sumOfSquaresY: 0, sumX: 1, sumOfSquaresX: 0, sumOfProducts: 0 }])).toThrow(
      new RangeError('variations[0].sumX must be 0 when n is 0, got 1'),
    );
  });
});
