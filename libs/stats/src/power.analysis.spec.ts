import { normalQuantile } from './distribution.functions';
import {
  meanMinimumDetectableEffect,
  meanPower,
  proportionMinimumDetectableEffect,
  proportionPower,
} from './power.analysis';

describe('power and minimum detectable effect', () => {
  it('give power alpha when there is no effect', () => {
    for (const alternative of ['greater', 'less', 'two-sided'] as const) {
      expect(
        proportionPower({ controlRate: 0.1, treatmentRate: 0.1, controlUnits: 1000, treatmentUnits: 3000 }, { alpha: 0.05, alternative }),
      ).toBeCloseTo(0.05, 14);
      expect(
        meanPower({ difference: 0, controlVariance: 2, treatmentVariance: 3, controlN: 10, treatmentN: 20 }, { alpha: 0.01, alternative }),
      ).toBeCloseTo(0.01, 14);
    }
  });

  it('know the textbook case: 80% power two-sided at alpha 0.05 is an effect of about 2.8 standard errors', () => {
    // SE = √(2/1000 + 2/1000) = 0.0632...; (1.95996 + 0.84162)·SE ≈ 0.17718.
    const se = Math.sqrt(0.004);
    const mde = meanMinimumDetectableEffect({ controlVariance: 2, treatmentVariance: 2, controlN: 1000, treatmentN: 1000, controlMean: 10 });
    const textbook = (normalQuantile(0.975) + normalQuantile(0.8)) * se;
    // Counting the far tail too, the exact answer is a hair smaller than the textbook one.
    expect(mde.absolute).toBeLessThan(textbook);
    expect(mde.absolute).toBeGreaterThan(textbook - 1e-6);
    expect(mde.relative).toBeCloseTo(mde.absolute / 10, 15);
    expect(meanPower({ difference: mde.absolute, controlVariance: 2, treatmentVariance: 2, controlN: 1000, treatmentN: 1000 })).toBeCloseTo(0.8, 12);
    // One-sided, it is the textbook formula exactly.
    const greater = meanMinimumDetectableEffect({ controlVariance: 2, treatmentVariance: 2, controlN: 1000, treatmentN: 1000 }, { alternative: 'greater' });
    expect(greater.absolute).toBeCloseTo((normalQuantile(0.95) + normalQuantile(0.8)) * se, 14);
    expect(greater.relative).toBeNull();
    const less = meanMinimumDetectableEffect({ controlVariance: 2, treatmentVariance: 2, controlN: 1000, treatmentN: 1000 }, { alternative: 'less' });
    expect(less.absolute).toBeCloseTo(-greater.absolute, 14);
  });

  it('invert each other for proportions: power at the MDE is the requested power', () => {
    for (const alternative of ['greater', 'less', 'two-sided'] as const) {
      for (const power of [0.5, 0.8, 0.95]) {
        const design = { controlRate: 0.04, controlUnits: 8000, treatmentUnits: 12_000 };
        const mde = proportionMinimumDetectableEffect(design, { power, alternative })!;
        expect(Math.sign(mde.absolute)).toBe(alternative === 'less' ? -1 : 1);
        expect(mde.treatmentRate).toBeCloseTo(0.04 + mde.absolute, 15);
        expect(mde.relative).toBeCloseTo(mde.absolute / 0.04, 13);
        expect(proportionPower({ ...design, treatmentRate: mde.treatmentRate }, { alternative })).toBeCloseTo(power, 10);
      }
    }
  });

  it('shrink the MDE as the sample grows (about 1/√n)', () => {
    const mde = (units: number): number =>
      proportionMinimumDetectableEffect({ controlRate: 0.05, controlUnits: units, treatmentUnits: units })!.absolute;
    expect(mde(40_000)).toBeLessThan(mde(10_000));
    expect(mde(10_000) / mde(40_000)).toBeCloseTo(2, 1);
  });

  it('return null when even the largest possible change is not detected', () => {
    expect(proportionMinimumDetectableEffect({ controlRate: 0.9, controlUnits: 10, treatmentUnits: 10 }, { power: 0.95 })).toBeNull();
    expect(proportionMinimumDetectableEffect({ controlRate: 0.9, controlUnits: 1000, treatmentUnits: 1000 }, { power: 0.95 })).not.toBeNull();
  });

  it('throw RangeError naming the field', () => {
    const design = { controlRate: 0.1, controlUnits: 100, treatmentUnits: 100 };
    expect(() => proportionMinimumDetectableEffect({ ...design, controlRate: 0 })).toThrow(
      new RangeError('controlRate must be a rate in (0, 1), got 0'),
    );
    expect(() => proportionPower({ ...design, treatmentRate: 1.2 })).toThrow(new RangeError('treatmentRate must be a rate in [0, 1], got 1.2'));
    expect(() => proportionMinimumDetectableEffect({ ...design, controlUnits: 0 })).toThrow(
      new RangeError('controlUnits must be a positive integer, got 0'),
    );
    expect(() => proportionMinimumDetectableEffect(design, { power: 0.04 })).toThrow(
      new RangeError('power (0.04) must be greater than alpha (0.05): no effect at all is "detected" with probability alpha'),
    );
    expect(() => proportionMinimumDetectableEffect(design, { power: 1 })).toThrow(
      new RangeError('power must be a number strictly between 0 and 1, got 1'),
    );
    expect(() => meanPower({ difference: 1, controlVariance: 0, treatmentVariance: 1, controlN: 2, treatmentN: 2 })).toThrow(
      new RangeError('controlVariance must be a positive finite number, got 0'),
    );
    expect(() => meanPower({ difference: NaN, controlVariance: 1, treatmentVariance: 1, controlN: 2, treatmentN: 2 })).toThrow(
      new RangeError('difference must be a finite number, got NaN'),
    );
    expect(() =>
      meanMinimumDetectableEffect({ controlVariance: 1, treatmentVariance: 1, controlN: 2, treatmentN: 2 }, { alternative: 'up' as 'less' }),
    ).toThrow(RangeError);
  });
});
