import * as fc from 'fast-check';
import { holmBonferroni } from './holm.correction';

describe('holmBonferroni', () => {
  it('multiplies the i-th smallest p-value by m - i + 1 and keeps the running maximum', () => {
    // Sorted: 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> max(0.06, 0.04) = 0.06. Input order is kept.
    const adjusted = holmBonferroni([0.01, 0.04, 0.03]);
    expect(adjusted[0]).toBeCloseTo(0.03, 15);
    expect(adjusted[1]).toBeCloseTo(0.06, 15);
    expect(adjusted[2]).toBeCloseTo(0.06, 15);
    // At alpha 0.05 Holm rejects only the first; Bonferroni (0.03, 0.12, 0.09) also only the first;
    // and here Holm rejects two where Bonferroni rejects one:
    expect(holmBonferroni([0.01, 0.02, 0.5]).map((p) => p < 0.05)).toEqual([true, true, false]);
    expect([0.01, 0.02, 0.5].map((p) => Math.min(1, 3 * p) < 0.05)).toEqual([true, false, false]);
  });

  it('caps at 1, gives tied p-values the same adjusted value, and handles 0 and 1 entries', () => {
    expect(holmBonferroni([0.6, 0.9])).toEqual([1, 1]);
    const tied = holmBonferroni([0.02, 0.02, 0.001]);
    expect(tied[0]).toBe(tied[1]);
    expect(tied[0]).toBeCloseTo(0.04, 15);
    expect(holmBonferroni([0, 1])).toEqual([0, 1]);
  });

  it('leaves a single p-value alone and an empty list empty', () => {
    expect(holmBonferroni([0.037])).toEqual([0.037]);
    expect(holmBonferroni([])).toEqual([]);
  });

  it('is monotone, at least the raw p-value, at most Bonferroni', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 20 }), (pValues) => {
        const adjusted = holmBonferroni(pValues);
        const m = pValues.length;
        pValues.forEach((p, i) => {
          expect(adjusted[i]).toBeGreaterThanOrEqual(p);
          expect(adjusted[i]).toBeLessThanOrEqual(Math.min(1, m * p));
          pValues.forEach((q, j) => {
            if (p < q) expect(adjusted[i]).toBeLessThanOrEqual(adjusted[j]);
          });
        });
      }),
      { seed: 3, numRuns: 300 },
    );
  });

  it('throws RangeError naming the index of a bad p-value', () => {
    expect(() => holmBonferroni([0.1, 1.2])).toThrow(new RangeError('pValues[1] must be a probability in [0, 1], got 1.2'));
    expect(() => holmBonferroni([NaN])).toThrow(new RangeError('pValues[0] must be a probability in [0, 1], got NaN'));
    expect(() => holmBonferroni([-0.01])).toThrow(RangeError);
  });
});
