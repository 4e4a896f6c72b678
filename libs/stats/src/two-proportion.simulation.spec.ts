import { mulberry32 } from './seeded-random';
import { twoProportionZTest } from './two-proportion.z-test';

// Simulated guardrail decisions: the test must hold its false-positive rate when nothing changed
// (A/A) and must catch a real regression. A seeded PRNG makes every run identical, so a failure
// here is a property of the code, not bad luck.


function successes(random: () => number, units: number, rate: number): number {
  let count = 0;
  for (let i = 0; i < units; i++) if (random() < rate) count++;
  return count;
}

const RUNS = 2000;
const UNITS = 2000;
const ALPHA = 0.05;

/** Share of RUNS simulated experiments in which each alternative rejects H0 at ALPHA. */
function rejectionRates(seed: number, controlRate: number, treatmentRate: number): Record<'greater' | 'less' | 'two-sided', number> {
  const random = mulberry32(seed);
  const rejected = { greater: 0, less: 0, 'two-sided': 0 };
  for (let run = 0; run < RUNS; run++) {
    const control = { units: UNITS, successes: successes(random, UNITS, controlRate) };
    const treatment = { units: UNITS, successes: successes(random, UNITS, treatmentRate) };
    for (const alternative of ['greater', 'less', 'two-sided'] as const) {
      if (twoProportionZTest(control, treatment, alternative).pValue < ALPHA) rejected[alternative]++;
    }
  }
  return { greater: rejected.greater / RUNS, less: rejected.less / RUNS, 'two-sided': rejected['two-sided'] / RUNS };
}

describe('two-proportion z-test by simulation (2,000 runs of 2,000 units per arm, alpha 0.05)', () => {
  it('rejects about 5% of A/A comparisons at rate 0.05, one-sided and two-sided', () => {
    const rates = rejectionRates(20240917, 0.05, 0.05);
    // ±3 standard errors of a 5% rate over 2,000 runs is ±0.015.
    expect(rates.greater).toBeGreaterThanOrEqual(0.035);
    expect(rates.greater).toBeLessThanOrEqual(0.065);
    expect(rates.less).toBeGreaterThanOrEqual(0.035);
    expect(rates.less).toBeLessThanOrEqual(0.065);
    expect(rates['two-sided']).toBeGreaterThanOrEqual(0.035);
    expect(rates['two-sided']).toBeLessThanOrEqual(0.065);
  });

  it("detects a rise from 0.05 to 0.08 in more than 90% of runs with 'greater', and almost never with 'less'", () => {
    // Expected power: z ≈ 0.03 / √(0.065 · 0.935 · 2/2000) ≈ 3.85, so P(reject) ≈ Φ(3.85 - 1.645) ≈ 0.99.
    const rates = rejectionRates(7, 0.05, 0.08);
    expect(rates.greater).toBeGreaterThan(0.9);
    expect(rates.less).toBeLessThan(0.005);
  });
});
