import { chiSquareGoodnessOfFit } from './chi-square.goodness-of-fit';
import { sampleRatioMismatch } from './sample-ratio.mismatch';

describe('sampleRatioMismatch', () => {
  it('flags a split that is off the weights beyond chance, below p = 0.001 by default', () => {
    // 50.8% / 49.2% of 100,000 against 50/50: z = 800 / √(100,000 · 0.25) ≈ 5.06.
    const broken = sampleRatioMismatch([50_800, 49_200], [50, 50]);
    expect(broken.pValue).toBeCloseTo(chiSquareGoodnessOfFit([50_800, 49_200], [50, 50]).pValue, 15);
    expect(broken.pValue).toBeLessThan(1e-5);
    expect(broken.mismatch).toBe(true);
    const fine = sampleRatioMismatch([5050, 4950], [50, 50]);
    expect(fine.pValue).toBeGreaterThan(0.3);
    expect(fine.mismatch).toBe(false);
  });

  it('compares strictly against the threshold, which can be set', () => {
    // 60/40 against 50/50: statistic 4 on 1 d.f., p = 0.0455.
    expect(sampleRatioMismatch([60, 40], [1, 1]).mismatch).toBe(false);
    expect(sampleRatioMismatch([60, 40], [1, 1], { threshold: 0.05 }).mismatch).toBe(true);
    const { pValue } = sampleRatioMismatch([60, 40], [1, 1]);
    expect(sampleRatioMismatch([60, 40], [1, 1], { threshold: pValue }).mismatch).toBe(false);
  });

  it('reads uneven weights and more than two variations', () => {
    expect(sampleRatioMismatch([9010, 990], [90, 10]).mismatch).toBe(false);
    expect(sampleRatioMismatch([5000, 5000], [90, 10]).mismatch).toBe(true);
    expect(sampleRatioMismatch([3300, 3350, 3350], [1, 1, 1]).mismatch).toBe(false);
    expect(sampleRatioMismatch([3000, 3500, 3500], [1, 1, 1]).mismatch).toBe(true);
  });

  it('does not flag an experiment without units', () => {
    expect(sampleRatioMismatch([0, 0], [1, 1])).toEqual({ pValue: 1, mismatch: false });
  });

  it('throws RangeError naming the field', () => {
    expect(() => sampleRatioMismatch([10, 10], [1, 1], { threshold: 0 })).toThrow(
      new RangeError('threshold must be a number strictly between 0 and 1, got 0'),
    );
    expect(() => sampleRatioMismatch([10, 10], [1])).toThrow(new RangeError('observed has 2 categories but expectedWeights has 1'));
    expect(() => sampleRatioMismatch([10, -1], [1, 1])).toThrow(new RangeError('observed[1] must be a non-negative integer, got -1'));
  });
});
