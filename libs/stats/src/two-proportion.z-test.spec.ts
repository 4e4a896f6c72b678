import * as fc from 'fast-check';
import type { Alternative } from './alternative';
import { normalCdf } from './distribution.functions';
import { twoProportionZTest } from './two-proportion.z-test';

describe('twoProportionZTest', () => {
  it('uses the pooled standard error', () => {
    // 100/2000 vs 130/2000: pooled p = 230/4000 = 0.0575, SE = √(0.0575 · 0.9425 · (2/2000)).
    const result = twoProportionZTest({ units: 2000, successes: 100 }, { units: 2000, successes: 130 }, 'greater');
    const standardError = Math.sqrt(0.0575 * 0.9425 * 0.001);
    expect(result.controlRate).toBe(0.05);
    expect(result.treatmentRate).toBe(0.065);
    expect(result.difference).toBeCloseTo(0.015, 15);
    expect(result.relativeDifference).toBeCloseTo(0.3, 14);
    expect(result.standardError).toBeCloseTo(standardError, 15);
    expect(result.z).toBeCloseTo(0.015 / standardError, 12);
    expect(result.pValue).toBeCloseTo(normalCdf(-0.015 / standardError), 12);
    expect(result.pValue).toBeCloseTo(0.0208, 4);
  });

  it("reads 'greater' as H1: treatment rate > control rate", () => {
    const control = { units: 5000, successes: 100 };
    const worse = { units: 5000, successes: 150 };
    expect(twoProportionZTest(control, worse, 'greater').pValue).toBeLessThan(0.001);
    expect(twoProportionZTest(control, worse, 'less').pValue).toBeGreaterThan(0.999);
    expect(twoProportionZTest(worse, control, 'less').pValue).toBeLessThan(0.001);
  });

  it('gives every alternative a p-value of 1 when an arm has no units, with null for what is undefined', () => {
    for (const alternative of ['greater', 'less', 'two-sided'] as const) {
      expect(twoProportionZTest({ units: 0, successes: 0 }, { units: 100, successes: 10 }, alternative)).toEqual({
        controlRate: null,
        treatmentRate: 0.1,
        difference: null,
        relativeDifference: null,
        z: null,
        pValue: 1,
        standardError: null,
      });
      expect(twoProportionZTest({ units: 100, successes: 10 }, { units: 0, successes: 0 }, alternative).pValue).toBe(1);
    }
  });

  it('gives a p-value of 1 when every unit succeeded or none did (standard error 0)', () => {
    for (const alternative of ['greater', 'less', 'two-sided'] as const) {
      expect(twoProportionZTest({ units: 50, successes: 0 }, { units: 70, successes: 0 }, alternative)).toEqual({
        controlRate: 0,
        treatmentRate: 0,
        difference: 0,
        relativeDifference: null,
        z: null,
        pValue: 1,
        standardError: 0,
      });
      expect(twoProportionZTest({ units: 50, successes: 50 }, { units: 70, successes: 70 }, alternative)).toMatchObject({
        difference: 0,
        relativeDifference: 0,
        z: null,
        pValue: 1,
      });
    }
  });

  it('still tests when only the control rate is 0 (relativeDifference is then null)', () => {
    const result = twoProportionZTest({ units: 1000, successes: 0 }, { units: 1000, successes: 12 }, 'greater');
    expect(result.relativeDifference).toBeNull();
    expect(result.z).toBeGreaterThan(3);
    expect(result.pValue).toBeLessThan(0.001);
  });

  it('throws RangeError naming the arm and the field', () => {
    const ok = { units: 10, successes: 1 };
    expect(() => twoProportionZTest({ units: 10, successes: 11 }, ok, 'greater')).toThrow(
      new RangeError('control.successes (11) must not exceed control.units (10)'),
    );
    expect(() => twoProportionZTest(ok, { units: -5, successes: 0 }, 'greater')).toThrow(
      new RangeError('treatment.units must be a non-negative integer, got -5'),
    );
    expect(() => twoProportionZTest(ok, { units: 10, successes: 2.5 }, 'less')).toThrow(
      new RangeError('treatment.successes must be a non-negative integer, got 2.5'),
    );
    expect(() => twoProportionZTest({ units: NaN, successes: 0 }, ok, 'less')).toThrow(RangeError);
    expect(() => twoProportionZTest(ok, ok, 'bigger' as Alternative)).toThrow(
      new RangeError(`alternative must be 'greater', 'less' or 'two-sided', got "bigger"`),
    );
  });

  describe('properties', () => {
    const arm = fc
      .integer({ min: 1, max: 1_000_000 })
      .chain((units) => fc.record({ units: fc.constant(units), successes: fc.integer({ min: 0, max: units }) }));

    it('p-values lie in [0, 1], swapping the arms swaps greater and less, two-sided is twice the smaller tail', () => {
      fc.assert(
        fc.property(arm, arm, (control, treatment) => {
          const greater = twoProportionZTest(control, treatment, 'greater').pValue;
          const less = twoProportionZTest(control, treatment, 'less').pValue;
          const twoSided = twoProportionZTest(control, treatment, 'two-sided').pValue;
          for (const p of [greater, less, twoSided]) {
            expect(p).toBeGreaterThanOrEqual(0);
            expect(p).toBeLessThanOrEqual(1);
          }
          expect(twoProportionZTest(treatment, control, 'less').pValue).toBeCloseTo(greater, 12);
          if (twoProportionZTest(control, treatment, 'two-sided').z !== null) {
            expect(greater + less).toBeCloseTo(1, 12);
            expect(twoSided).toBeCloseTo(Math.min(1, 2 * Math.min(greater, less)), 12);
          }
        }),
        { seed: 7, numRuns: 500 },
      );
    });
  });
});
