import { mulberry32 } from './seeded-random';
import { proportionConfidenceSequence, meanConfidenceSequence } from './confidence.sequence';
import { cupedAdjustment, type CupedSums } from './cuped.adjustment';
import { analyzeExperiment, type ExperimentAnalysisInput } from './experiment.analysis';
import { holmBonferroni } from './holm.correction';
import { meanMinimumDetectableEffect, meanPower, proportionMinimumDetectableEffect, proportionPower } from './power.analysis';
import { summarizeRatio, type RatioSums } from './ratio.summary';
import { sampleRatioMismatch } from './sample-ratio.mismatch';
import { summarize } from './sample.summary';
import { twoProportionZTest } from './two-proportion.z-test';
import { proportionUplift } from './uplift.interval';
import { welchTTest } from './welch.t-test';

// Seeded simulations of whole experiments: every run is identical, so a failure is a property of
// the code, not bad luck. Bounds are a few standard errors of the simulated rate wide, stated
// next to each assertion.

// Bound once: a global lookup per draw is ~20x slower inside Jest's vm context.
const log = Math.log;
const sqrt = Math.sqrt;
const cos = Math.cos;


/**
 * A Binomial(n, p) draw by inversion (walk up the CDF from 0; about n·p steps), exact up to
 * rounding. Only for n·p in the hundreds, where (1 - p)^n does not underflow.
 */
function binomial(random: () => number, n: number, p: number): number {
  const u = random();
  const ratio = p / (1 - p);
  let probability = (1 - p) ** n;
  let cumulative = probability;
  let k = 0;
  while (cumulative < u && k < n) {
    probability *= (ratio * (n - k)) / (k + 1);
    cumulative += probability;
    k++;
  }
  return k;
}

/** Standard normal draws by Box–Muller (one of each pair is kept: simple, and fast enough here). */
function normal(random: () => number): number {
  return sqrt(-2 * log(1 - random())) * cos(2 * Math.PI * random());
}

/** A Poisson(λ) draw by inversion (multiply uniforms until below e^-λ): fine for λ of a few. */
function poisson(random: () => number, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let product = random();
  while (product > limit) {
    k++;
    product *= random();
  }
  return k;
}

/**
 * One variation of a latency-per-request experiment: each user makes Poisson(3) requests (some
 * none) at a speed of their own (lognormal, so one slow user makes many slow requests), each
 * request Exponential around 120 ms × that speed × `lift`. Returns the ratio sums over users and,
 * for contrast, the per-request sums that a naive analysis would use.
 */
function latencyArm(random: () => number, users: number, lift: number): { sums: RatioSums; requests: { n: number; sum: number; sumOfSquares: number } } {
  const sums: RatioSums = { n: users, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
  const requests = { n: 0, sum: 0, sumOfSquares: 0 };
  for (let i = 0; i < users; i++) {
    const count = poisson(random, 3);
    const speed = Math.exp(0.5 * normal(random));
    let total = 0;
    for (let r = 0; r < count; r++) {
      const latency = -log(1 - random()) * 120 * speed * lift;
      total += latency;
      requests.sum += latency;
      requests.sumOfSquares += latency * latency;
    }
    requests.n += count;
    sums.sumX += total;
    sums.sumY += count;
    sums.sumX2 += total * total;
    sums.sumY2 += count * count;
    sums.sumXY += total * count;
  }
  return { sums, requests };
}

const ALPHA = 0.05;

/** ±k standard errors of a rate estimated from `runs` Bernoulli trials. */
function band(rate: number, runs: number, k = 3): number {
  return k * sqrt((rate * (1 - rate)) / runs);
}

describe('experiment statistics by simulation', () => {
  it('Holm keeps the family-wise false-positive rate of 3 treatments against one control at alpha (A/A, 10,000 experiments)', () => {
    const random = mulberry32(2024);
    const RUNS = 10_000;
    const UNITS = 2000;
    let anyRaw = 0;
    let anyHolm = 0;
    let comparisonsRejected = 0;
    for (let run = 0; run < RUNS; run++) {
      const control = { units: UNITS, successes: binomial(random, UNITS, 0.1) };
      const pValues = [0, 1, 2].map(
        () => twoProportionZTest(control, { units: UNITS, successes: binomial(random, UNITS, 0.1) }, 'two-sided').pValue,
      );
      const rejectedRaw = pValues.filter((p) => p < ALPHA).length;
      comparisonsRejected += rejectedRaw;
      if (rejectedRaw > 0) anyRaw++;
      if (holmBonferroni(pValues).some((p) => p < ALPHA)) anyHolm++;
    }
    // Each comparison alone rejects 5% of the time (30,000 comparisons: ±0.004 at 3 SE).
    expect(Math.abs(comparisonsRejected / (3 * RUNS) - ALPHA)).toBeLessThan(band(ALPHA, 3 * RUNS));
    // Uncorrected, one of three comparisons is a false positive in about 12% of experiments.
    expect(anyRaw / RUNS).toBeGreaterThan(0.11);
    // Holm: at most alpha; the shared control makes the three tests positively correlated, so the
    // true rate is a little below (about 0.045; 1 SE over 10,000 runs is 0.002), but not far below.
    expect(anyHolm / RUNS).toBeLessThanOrEqual(ALPHA);
    expect(anyHolm / RUNS).toBeGreaterThan(0.035);
  });

  describe('a planted uplift is detected about as often as the power functions predict', () => {
    it.each([0.5, 0.8, 0.9])('conversions: 10%% baseline, 3,000 units per arm, the MDE at power %p', (targetPower) => {
      const random = mulberry32(Math.round(targetPower * 1000));
      const RUNS = 4000;
      const UNITS = 3000;
      const design = { controlRate: 0.1, controlUnits: UNITS, treatmentUnits: UNITS };
      const mde = proportionMinimumDetectableEffect(design, { power: targetPower })!;
      const predicted = proportionPower({ ...design, treatmentRate: mde.treatmentRate });
      expect(predicted).toBeCloseTo(targetPower, 10);
      let detected = 0;
      let relativeCovered = 0;
      for (let run = 0; run < RUNS; run++) {
        const control = { units: UNITS, successes: binomial(random, UNITS, 0.1) };
        const treatment = { units: UNITS, successes: binomial(random, UNITS, mde.treatmentRate) };
        if (twoProportionZTest(control, treatment, 'two-sided').pValue < ALPHA) detected++;
        const { relative } = proportionUplift(control, treatment);
        if (relative.lower! <= mde.relative && mde.relative <= relative.upper!) relativeCovered++;
      }
      // 4,000 runs: 3 SE of a rate near 0.8 is about 0.019.
      expect(Math.abs(detected / RUNS - predicted)).toBeLessThan(band(predicted, RUNS));
      // And the delta-method interval of the relative uplift covers the planted uplift about 95% of the time.
      expect(Math.abs(relativeCovered / RUNS - 0.95)).toBeLessThan(band(0.95, RUNS));
    });

    it("means: 400 units per arm, standard deviation 1, the MDE at power 0.8, read with Welch's test", () => {
      const random = mulberry32(77);
      const RUNS = 2000;
      const N = 400;
      const mde = meanMinimumDetectableEffect({ controlVariance: 1, treatmentVariance: 1, controlN: N, treatmentN: N });
      const predicted = meanPower({ difference: mde.absolute, controlVariance: 1, treatmentVariance: 1, controlN: N, treatmentN: N });
      expect(predicted).toBeCloseTo(0.8, 10);
      let detected = 0;
      for (let run = 0; run < RUNS; run++) {
        const arm = (shift: number): ReturnType<typeof summarize> => {
          let sum = 0;
          let sumOfSquares = 0;
          for (let i = 0; i < N; i++) {
            const y = shift + normal(random);
            sum += y;
            sumOfSquares += y * y;
          }
          return summarize(N, sum, sumOfSquares);
        };
        if (welchTTest(arm(0), arm(mde.absolute), 'two-sided').pValue < ALPHA) detected++;
      }
      expect(Math.abs(detected / RUNS - predicted)).toBeLessThan(band(predicted, RUNS));
    });
  });

  describe('sequential testing: 20 looks, one after every batch', () => {
    const LOOKS = 20;

    it('keeps the rate of ever rejecting an A/A comparison below alpha, where repeated z-tests go far above it (conversions, 2,000 experiments)', () => {
      const random = mulberry32(11);
      const RUNS = 2000;
      const BATCH = 250; // per arm and look: 10,000 units in all at the last look
      let sequentialEver = 0;
      let naiveEver = 0;
      let naiveAtEnd = 0;
      for (let run = 0; run < RUNS; run++) {
        const control = { units: 0, successes: 0 };
        const treatment = { units: 0, successes: 0 };
        let sequentialRejected = false;
        let naiveRejected = false;
        for (let look = 0; look < LOOKS; look++) {
          control.units += BATCH;
          control.successes += binomial(random, BATCH, 0.1);
          treatment.units += BATCH;
          treatment.successes += binomial(random, BATCH, 0.1);
          if (proportionConfidenceSequence(control, treatment, { tuningSampleSize: 2 * BATCH * LOOKS }).pValue < ALPHA) sequentialRejected = true;
          const naive = twoProportionZTest(control, treatment, 'two-sided').pValue < ALPHA;
          if (naive) naiveRejected = true;
          if (naive && look === LOOKS - 1) naiveAtEnd++;
        }
        if (sequentialRejected) sequentialEver++;
        if (naiveRejected) naiveEver++;
      }
      // One look at the end is a valid 5% test; 20 looks at the same test reject about 25% of A/A runs.
      expect(Math.abs(naiveAtEnd / RUNS - ALPHA)).toBeLessThan(band(ALPHA, RUNS));
      expect(naiveEver / RUNS).toBeGreaterThan(0.18);
      // The confidence sequence may be looked at every time and stays at or below alpha.
      expect(sequentialEver / RUNS).toBeLessThanOrEqual(ALPHA);
    });

    it('keeps the A/A rate below alpha for means too, and covers a planted difference at every look at once about 95% of the time or more', () => {
      const random = mulberry32(12);
      const RUNS = 1000;
      const BATCH = 50;
      let aaEver = 0;
      let naiveEver = 0;
      let coveredThroughout = 0;
      let detectedByEnd = 0;
      const TRUE_DIFFERENCE = 0.15;
      for (let run = 0; run < RUNS; run++) {
        const sums = [0, 0, 0, 0, 0, 0]; // A/A control, A/A treatment, planted treatment: [Σy, Σy²] each
        let n = 0;
        let aaRejected = false;
        let naiveRejected = false;
        let covered = true;
        let detected = false;
        for (let look = 0; look < LOOKS; look++) {
          for (let i = 0; i < BATCH; i++) {
            for (let arm = 0; arm < 3; arm++) {
              const y = normal(random) + (arm === 2 ? TRUE_DIFFERENCE : 0);
              sums[2 * arm] += y;
              sums[2 * arm + 1] += y * y;
            }
          }
          n += BATCH;
          const [control, aa, planted] = [0, 1, 2].map((arm) => summarize(n, sums[2 * arm], sums[2 * arm + 1]));
          const options = { tuningSampleSize: 2 * BATCH * LOOKS };
          if (meanConfidenceSequence(control, aa, options).pValue < ALPHA) aaRejected = true;
          if (welchTTest(control, aa, 'two-sided').pValue < ALPHA) naiveRejected = true;
          const sequence = meanConfidenceSequence(control, planted, options);
          if (!(sequence.lower! <= TRUE_DIFFERENCE && TRUE_DIFFERENCE <= sequence.upper!)) covered = false;
          if (sequence.pValue < ALPHA) detected = true;
        }
        if (aaRejected) aaEver++;
        if (naiveRejected) naiveEver++;
        if (covered) coveredThroughout++;
        if (detected) detectedByEnd++;
      }
      expect(naiveEver / RUNS).toBeGreaterThan(0.18);
      expect(aaEver / RUNS).toBeLessThanOrEqual(ALPHA);
      expect(coveredThroughout / RUNS).toBeGreaterThanOrEqual(0.95);
      // 0.15 SD with 1,000 per arm at the end: a fixed test would have power ≈ 0.86; peeking costs some.
      expect(detectedByEnd / RUNS).toBeGreaterThan(0.6);
    });
  });

  it('CUPED keeps the A/A false-positive rate at alpha and removes about ρ² of the variance', () => {
    const random = mulberry32(31);
    const RUNS = 2000;
    const N = 200;
    const RHO = 0.7; // corr(x, y) = 0.7: CUPED should remove about 49% of the variance
    let rejectedAdjusted = 0;
    let reductionTotal = 0;
    for (let run = 0; run < RUNS; run++) {
      const arms: CupedSums[] = [0, 1].map(() => {
        const arm = { n: N, sumY: 0, sumOfSquaresY: 0, sumX: 0, sumOfSquaresX: 0, sumOfProducts: 0 };
        for (let i = 0; i < N; i++) {
          const x = 10 + normal(random);
          const y = 5 + RHO * (x - 10) + sqrt(1 - RHO * RHO) * normal(random);
          arm.sumY += y;
          arm.sumOfSquaresY += y * y;
          arm.sumX += x;
          arm.sumOfSquaresX += x * x;
          arm.sumOfProducts += x * y;
        }
        return arm;
      });
      const { variations } = cupedAdjustment(arms);
      if (welchTTest(variations[0].adjusted, variations[1].adjusted, 'two-sided').pValue < ALPHA) rejectedAdjusted++;
      reductionTotal += variations[0].varianceReduction!;
    }
    expect(Math.abs(rejectedAdjusted / RUNS - ALPHA)).toBeLessThan(band(ALPHA, RUNS));
    expect(reductionTotal / RUNS).toBeCloseTo(RHO * RHO, 1);
  });

  describe('ratio metrics (latency per request, users randomised): the delta method over users', () => {
    const USERS = 400;
    const RUNS = 2000;
    const variations: ExperimentAnalysisInput['variations'] = [
      { key: 'control', weight: 1, units: USERS },
      { key: 'treatment', weight: 1, units: USERS },
    ];
    const latency = (control: RatioSums, treatment: RatioSums): ReturnType<typeof analyzeExperiment>['metrics'][number]['treatments'][number] =>
      analyzeExperiment({
        control: 'control',
        variations,
        metrics: [{ key: 'latency', role: 'guardrail', lowerIsBetter: true, totals: { kind: 'ratio', byVariation: { control, treatment } } }],
      }).metrics[0].treatments[0];

    it('keeps the A/A false-positive rate at alpha, where treating requests as independent goes far above it (2,000 experiments)', () => {
      const random = mulberry32(41);
      let rejected = 0;
      let naiveRejected = 0;
      for (let run = 0; run < RUNS; run++) {
        const control = latencyArm(random, USERS, 1);
        const treatment = latencyArm(random, USERS, 1);
        if (latency(control.sums, treatment.sums).pValue < ALPHA) rejected++;
        const perRequest = [control, treatment].map(({ requests }) => summarize(requests.n, requests.sum, requests.sumOfSquares));
        if (welchTTest(perRequest[0], perRequest[1], 'two-sided').pValue < ALPHA) naiveRejected++;
      }
      // 2,000 runs: 3 SE of a rate near 0.05 is 0.015.
      expect(Math.abs(rejected / RUNS - ALPHA)).toBeLessThan(band(ALPHA, RUNS));
      // Requests of one user are correlated: the per-request variance understates the spread of R.
      expect(naiveRejected / RUNS).toBeGreaterThan(0.1);
    });

    it('detects a planted reduction as often as the power function predicts, and covers it with the relative interval', () => {
      // The per-user (linearised) variance of the design, from one large pilot sample.
      const pilot = summarizeRatio(latencyArm(mulberry32(42), 200_000, 1).sums);
      // A multiplicative lift scales every residual x - R·y, so the treatment's variance is lift² times the control's.
      const mde = meanMinimumDetectableEffect({ controlVariance: pilot.variance, treatmentVariance: pilot.variance, controlN: USERS, treatmentN: USERS });
      const lift = 1 - mde.absolute / pilot.mean;
      const predicted = meanPower({
        difference: (lift - 1) * pilot.mean,
        controlVariance: pilot.variance,
        treatmentVariance: lift * lift * pilot.variance,
        controlN: USERS,
        treatmentN: USERS,
      });
      // Above 0.8: the MDE assumed the control's variance in both arms, and the faster arm varies less.
      expect(predicted).toBeGreaterThan(0.8);
      expect(predicted).toBeLessThan(0.9);
      const random = mulberry32(43);
      let better = 0;
      let covered = 0;
      for (let run = 0; run < RUNS; run++) {
        const row = latency(latencyArm(random, USERS, 1).sums, latencyArm(random, USERS, lift).sums);
        if (row.verdict === 'better') better++;
        if (row.relative.lower! <= lift - 1 && lift - 1 <= row.relative.upper!) covered++;
      }
      // 2,000 runs: 3 SE of a rate near 0.8 is 0.027, of a rate near 0.95 is 0.015.
      expect(Math.abs(better / RUNS - predicted)).toBeLessThan(band(predicted, RUNS));
      expect(Math.abs(covered / RUNS - 0.95)).toBeLessThan(band(0.95, RUNS));
    });
  });

  it('flags a planted sample ratio mismatch (52/48 on a 50/50 split, 20,000 units) and almost never a healthy split', () => {
    const random = mulberry32(5);
    const RUNS = 300;
    const UNITS = 20_000;
    const flaggedShare = (treatmentShare: number): number => {
      let flagged = 0;
      for (let run = 0; run < RUNS; run++) {
        let treatment = 0;
        for (let i = 0; i < UNITS; i++) if (random() < treatmentShare) treatment++;
        if (sampleRatioMismatch([UNITS - treatment, treatment], [50, 50]).mismatch) flagged++;
      }
      return flagged / RUNS;
    };
    // 52/48: z = 0.02 / √(0.25/20,000) ≈ 5.7, so P(p < 0.001) ≈ Φ(5.7 - 3.29) ≈ 0.99.
    expect(flaggedShare(0.52)).toBeGreaterThan(0.95);
    // Healthy: 0.1% expected, 0.3 of 300 runs.
    expect(flaggedShare(0.5)).toBeLessThanOrEqual(2 / RUNS);
  });
});
