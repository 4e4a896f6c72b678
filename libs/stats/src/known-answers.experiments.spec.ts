import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Alternative } from './alternative';
import {
  analyzeExperiment,
  betaBinomialComparison,
  cupedAdjustment,
  holmBonferroni,
  meanConfidenceSequence,
  meanMinimumDetectableEffect,
  meanPower,
  meanUplift,
  meanZTest,
  normalMeanComparison,
  normalMeanUplift,
  proportionConfidenceSequence,
  proportionMinimumDetectableEffect,
  proportionPower,
  proportionUplift,
  sampleRatioMismatch,
  summarizeRatio,
} from './index';
import type { CupedSums, ExperimentAnalysisInput, ProportionSample, RatioSums, SampleSummary, TreatmentResult } from './index';

// Expected values for the experiment statistics come from SciPy through
// libs/stats/fixtures/experiments.py (run known_answers.py to regenerate; each expectation there is
// computed independently of the TypeScript: raw-data t intervals, the closure form of Holm, quad
// integrals, brentq roots, least squares, numpy.cov of raw per-unit ratio data). Tolerance as in
// known-answers.spec.ts: 1e-9 relative, or 1e-12 absolute for values near 0.

type Interval = { estimate: number | null; standardError?: number | null; lower: number | null; upper: number | null };

interface ExperimentAnswers {
  proportionUplift: {
    control: ProportionSample;
    treatment: ProportionSample;
    confidenceLevel: number;
    expected: { absolute: Interval; relative: Interval };
  }[];
  meanUplift: {
    control: SampleSummary;
    treatment: SampleSummary;
    confidenceLevel: number;
    expected: { degreesOfFreedom: number; absolute: Interval; relative: Interval };
  }[];
  holmBonferroni: { pValues: number[]; expected: number[] }[];
  proportionConfidenceSequence: SequenceCase<ProportionSample>[];
  meanConfidenceSequence: SequenceCase<SampleSummary>[];
  betaBinomialComparison: {
    control: ProportionSample;
    treatment: ProportionSample;
    prior: { alpha: number; beta: number };
    credibleLevel: number;
    lowerIsBetter: boolean;
    expected: BayesianExpected & { exactRelativeInterval: { lower: number; upper: number } | null };
  }[];
  normalMeanComparison: {
    control: SampleSummary;
    treatment: SampleSummary;
    credibleLevel: number;
    lowerIsBetter: boolean;
    expected: BayesianExpected;
  }[];
  cupedAdjustment: {
    name: string;
    variations: CupedSums[];
    expected: {
      theta: number;
      preExposureMean: number;
      variations: { adjusted: SampleSummary; unadjusted: SampleSummary; varianceReduction: number }[];
    };
  }[];
  proportionPower: PowerCase<{ controlRate: number; treatmentRate: number; controlUnits: number; treatmentUnits: number }>[];
  meanPower: PowerCase<{ difference: number; controlVariance: number; treatmentVariance: number; controlN: number; treatmentN: number }>[];
  proportionMinimumDetectableEffect: (PowerCase<{ controlRate: number; controlUnits: number; treatmentUnits: number }, {
    absolute: number;
    relative: number;
    treatmentRate: number;
  } | null> & { power: number })[];
  meanMinimumDetectableEffect: (PowerCase<
    { controlVariance: number; treatmentVariance: number; controlN: number; treatmentN: number; controlMean?: number },
    { absolute: number; relative: number | null }
  > & { power: number })[];
  sampleRatioMismatch: { counts: number[]; weights: number[]; threshold: number; expected: { pValue: number; mismatch: boolean } }[];
  summarizeRatio: { name: string; sums: RatioSums; expected: { n: number; ratio: number; varianceOfRatio: number } }[];
  ratioComparison: {
    name: string;
    control: RatioSums;
    treatment: RatioSums;
    confidenceLevel: number;
    expected: { z: number; pValue: number; absolute: Interval; relative: Interval };
  }[];
  analyzeExperimentRatio: {
    variations: ExperimentAnalysisInput['variations'];
    totals: { kind: 'ratio'; byVariation: Record<string, RatioSums> };
    alpha: number;
    expectedUnits: number;
    expected: {
      control: { units: number; value: number };
      treatments: (Omit<TreatmentResult, 'absolute' | 'relative'> & { absolute: Interval; relative: Interval })[];
      minimumDetectableEffect: { absolute: number; relative: number };
    };
  };
}

interface SequenceCase<Arm> {
  control: Arm;
  treatment: Arm;
  alpha: number;
  tuningSampleSize: number;
  expected: { difference: number; standardError: number; lower: number; upper: number; pValue: number };
}

interface BayesianExpected {
  chanceToBeatControl: number;
  expectedLossTreatment: number;
  expectedLossControl: number;
  absolute: Interval;
  relative: Interval;
}

interface PowerCase<Input, Expected = number> {
  input: Input;
  alpha: number;
  alternative: Alternative;
  expected: Expected;
}

const known = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'known-answers.json'), 'utf8')) as ExperimentAnswers;

const RELATIVE = 1e-9;
const ABSOLUTE = 1e-12;

/** Fails with the name of the quantity and both values, so a broken case reads at a glance. */
function expectClose(label: string, actual: number | null | undefined, expected: number | null | undefined, absolute = ABSOLUTE): void {
  if (expected === null || expected === undefined || actual === null || actual === undefined) {
    expect({ [label]: actual ?? null }).toEqual({ [label]: expected ?? null });
    return;
  }
  const error = Math.abs(actual - expected);
  const ok = error <= absolute || error <= RELATIVE * Math.abs(expected);
  if (!ok) throw new Error(`${label}: got ${actual}, SciPy ${expected} (error ${error})`);
}

function expectInterval(label: string, actual: Interval, expected: Interval): void {
  expectClose(`${label}.estimate`, actual.estimate, expected.estimate);
  if (expected.standardError !== undefined) expectClose(`${label}.standardError`, actual.standardError, expected.standardError);
  expectClose(`${label}.lower`, actual.lower, expected.lower);
  expectClose(`${label}.upper`, actual.upper, expected.upper);
}

describe('known answers from SciPy: experiment statistics', () => {
  it('has enough cases of each kind', () => {
    for (const key of [
      'proportionUplift',
      'meanUplift',
      'holmBonferroni',
      'proportionConfidenceSequence',
      'meanConfidenceSequence',
      'betaBinomialComparison',
      'normalMeanComparison',
      'cupedAdjustment',
      'proportionPower',
      'meanPower',
      'proportionMinimumDetectableEffect',
      'meanMinimumDetectableEffect',
      'sampleRatioMismatch',
      'summarizeRatio',
      'ratioComparison',
    ] as const) {
      expect({ [key]: known[key].length >= 4 }).toEqual({ [key]: true });
    }
  });

  it.each(known.proportionUplift)('proportionUplift($control, $treatment, $confidenceLevel)', ({ control, treatment, confidenceLevel, expected }) => {
    const result = proportionUplift(control, treatment, { confidenceLevel });
    expectInterval('absolute', result.absolute, expected.absolute);
    expectInterval('relative', result.relative, expected.relative);
  });

  it.each(known.meanUplift)('meanUplift(n $control.n vs $treatment.n, $confidenceLevel) against ttest_ind on the raw data', ({ control, treatment, confidenceLevel, expected }) => {
    const result = meanUplift(control, treatment, { confidenceLevel });
    expectClose('degreesOfFreedom', result.degreesOfFreedom, expected.degreesOfFreedom);
    expectInterval('absolute', result.absolute, expected.absolute);
    expectInterval('relative', result.relative, expected.relative);
  });

  it.each(known.holmBonferroni)('holmBonferroni($pValues) equals the closure of Bonferroni tests', ({ pValues, expected }) => {
    const adjusted = holmBonferroni(pValues);
    expect(adjusted).toHaveLength(expected.length);
    adjusted.forEach((value, i) => expectClose(`adjusted[${i}]`, value, expected[i]));
  });

  it.each(known.proportionConfidenceSequence)(
    'proportionConfidenceSequence($control, $treatment, alpha $alpha, N* $tuningSampleSize)',
    ({ control, treatment, alpha, tuningSampleSize, expected }) => {
      const result = proportionConfidenceSequence(control, treatment, { alpha, tuningSampleSize });
      for (const key of ['difference', 'standardError', 'lower', 'upper'] as const) expectClose(key, result[key], expected[key]);
      // The p-value keeps relative precision far into the tail (SciPy found it by root finding).
      expectClose('pValue', result.pValue, expected.pValue, 0);
    },
  );

  it.each(known.meanConfidenceSequence)(
    'meanConfidenceSequence($control, $treatment, alpha $alpha, N* $tuningSampleSize)',
    ({ control, treatment, alpha, tuningSampleSize, expected }) => {
      const result = meanConfidenceSequence(control, treatment, { alpha, tuningSampleSize });
      for (const key of ['difference', 'standardError', 'lower', 'upper'] as const) expectClose(key, result[key], expected[key]);
      expectClose('pValue', result.pValue, expected.pValue, 0);
    },
  );

  describe('betaBinomialComparison', () => {
    it.each(known.betaBinomialComparison)(
      '$control vs $treatment, prior $prior, level $credibleLevel, lowerIsBetter $lowerIsBetter',
      ({ control, treatment, prior, credibleLevel, lowerIsBetter, expected }) => {
        const result = betaBinomialComparison(control, treatment, { prior, credibleLevel, lowerIsBetter });
        expectClose('chanceToBeatControl', result.chanceToBeatControl, expected.chanceToBeatControl);
        expectClose('expectedLossTreatment', result.expectedLossTreatment, expected.expectedLossTreatment);
        expectClose('expectedLossControl', result.expectedLossControl, expected.expectedLossControl);
        expectInterval('absolute', result.absolute, expected.absolute);
        expectInterval('relative', result.relative, expected.relative);
      },
    );

    const large = known.betaBinomialComparison.filter((c) => c.expected.exactRelativeInterval !== null);
    it.each(large)(
      'the log-normal relative interval is within 2.5% of its width of the exact quantiles of Y/X - 1: $control vs $treatment',
      ({ control, treatment, prior, credibleLevel, expected }) => {
        const exact = expected.exactRelativeInterval!;
        const { relative } = betaBinomialComparison(control, treatment, { prior, credibleLevel });
        const width = exact.upper - exact.lower;
        expect(Math.abs(relative.lower! - exact.lower) / width).toBeLessThan(0.025);
        expect(Math.abs(relative.upper! - exact.upper) / width).toBeLessThan(0.025);
      },
    );

    it('has exact answers for 4 or more cases with 30+ conversions per arm', () => {
      expect(large.length).toBeGreaterThanOrEqual(4);
    });
  });

  it.each(known.normalMeanComparison)(
    'normalMeanComparison($control, $treatment, level $credibleLevel, lowerIsBetter $lowerIsBetter)',
    ({ control, treatment, credibleLevel, lowerIsBetter, expected }) => {
      const result = normalMeanComparison(control, treatment, { credibleLevel, lowerIsBetter });
      expectClose('chanceToBeatControl', result.chanceToBeatControl, expected.chanceToBeatControl);
      expectClose('expectedLossTreatment', result.expectedLossTreatment, expected.expectedLossTreatment);
      expectClose('expectedLossControl', result.expectedLossControl, expected.expectedLossControl);
      expectInterval('absolute', result.absolute, expected.absolute);
      expectInterval('relative', result.relative, expected.relative);
    },
  );

  it.each(known.cupedAdjustment)('cupedAdjustment: $name, against least squares on the raw data', ({ variations, expected }) => {
    const result = cupedAdjustment(variations);
    expectClose('theta', result.theta, expected.theta);
    expectClose('preExposureMean', result.preExposureMean, expected.preExposureMean);
    result.variations.forEach((variation, i) => {
      const want = expected.variations[i];
      expect(variation.adjusted.n).toBe(want.adjusted.n);
      // Sums lose a few digits to cancellation that the two-pass raw-data answer does not: 1e-9 holds.
      expectClose(`[${i}].adjusted.mean`, variation.adjusted.mean, want.adjusted.mean);
      expectClose(`[${i}].adjusted.variance`, variation.adjusted.variance, want.adjusted.variance);
      expectClose(`[${i}].unadjusted.mean`, variation.unadjusted.mean, want.unadjusted.mean);
      expectClose(`[${i}].unadjusted.variance`, variation.unadjusted.variance, want.unadjusted.variance);
      expectClose(`[${i}].varianceReduction`, variation.varianceReduction, want.varianceReduction);
    });
  });

  it.each(known.proportionPower)('proportionPower($input, alpha $alpha, $alternative)', ({ input, alpha, alternative, expected }) => {
    expectClose('power', proportionPower(input, { alpha, alternative }), expected);
  });

  it.each(known.meanPower)('meanPower($input, alpha $alpha, $alternative)', ({ input, alpha, alternative, expected }) => {
    expectClose('power', meanPower(input, { alpha, alternative }), expected);
  });

  it.each(known.proportionMinimumDetectableEffect)(
    'proportionMinimumDetectableEffect($input, alpha $alpha, power $power, $alternative)',
    ({ input, alpha, power, alternative, expected }) => {
      const result = proportionMinimumDetectableEffect(input, { alpha, power, alternative });
      if (expected === null) {
        expect(result).toBeNull();
        return;
      }
      expectClose('absolute', result?.absolute, expected.absolute);
      expectClose('relative', result?.relative, expected.relative);
      expectClose('treatmentRate', result?.treatmentRate, expected.treatmentRate);
    },
  );

  it.each(known.meanMinimumDetectableEffect)(
    'meanMinimumDetectableEffect($input, alpha $alpha, power $power, $alternative)',
    ({ input, alpha, power, alternative, expected }) => {
      const result = meanMinimumDetectableEffect(input, { alpha, power, alternative });
      expectClose('absolute', result.absolute, expected.absolute);
      expectClose('relative', result.relative, expected.relative);
    },
  );

  it.each(known.sampleRatioMismatch)('sampleRatioMismatch($counts, $weights, threshold $threshold)', ({ counts, weights, threshold, expected }) => {
    const result = sampleRatioMismatch(counts, weights, { threshold });
    expectClose('pValue', result.pValue, expected.pValue);
    expect(result.mismatch).toBe(expected.mismatch);
  });

  describe('ratio metrics: the delta method over units, against numpy on the raw per-unit arrays', () => {
    it.each(known.summarizeRatio)('summarizeRatio: $name', ({ sums, expected }) => {
      const summary = summarizeRatio(sums);
      expect(summary.n).toBe(expected.n);
      expectClose('ratio', summary.mean, expected.ratio);
      // The summary's variance is per unit: variance / n is Var(R).
      expectClose('varianceOfRatio', summary.variance / summary.n, expected.varianceOfRatio);
    });

    it.each(known.ratioComparison)('z-test and intervals: $name, level $confidenceLevel', ({ control, treatment, confidenceLevel, expected }) => {
      const c = summarizeRatio(control);
      const t = summarizeRatio(treatment);
      const test = meanZTest(c, t, 'two-sided');
      expectClose('z', test.z, expected.z);
      expectClose('pValue', test.pValue, expected.pValue);
      expectClose('standardError', test.standardError, expected.absolute.standardError);
      const uplift = normalMeanUplift(c, t, { confidenceLevel });
      expectInterval('absolute', uplift.absolute, expected.absolute);
      expectInterval('relative', uplift.relative, expected.relative);
    });

    it('analyzeExperiment reads a latency-per-request guardrail with two treatments as SciPy does', () => {
      const { variations, totals, alpha, expectedUnits, expected } = known.analyzeExperimentRatio;
      const [metric] = analyzeExperiment({
        control: 'control',
        variations,
        alpha,
        expectedUnits,
        metrics: [{ key: 'latency', role: 'primary', lowerIsBetter: true, totals }],
      }).metrics;
      expect(metric.kind).toBe('ratio');
      expect(metric.control.units).toBe(expected.control.units);
      expectClose('control.value', metric.control.value, expected.control.value);
      expect(metric.treatments.map((t) => [t.variation, t.units, t.verdict])).toEqual(expected.treatments.map((t) => [t.variation, t.units, t.verdict]));
      metric.treatments.forEach((row, i) => {
        const want = expected.treatments[i];
        const name = (field: string): string => `${row.variation}.${field}`;
        expectClose(name('value'), row.value, want.value);
        expectInterval(name('absolute'), row.absolute, want.absolute);
        expectInterval(name('relative'), row.relative, want.relative);
        expectClose(name('pValue'), row.pValue, want.pValue);
        expectClose(name('adjustedPValue'), row.adjustedPValue, want.adjustedPValue);
        expectClose(name('sequential.lower'), row.sequential.lower, want.sequential.lower);
        expectClose(name('sequential.upper'), row.sequential.upper, want.sequential.upper);
        expectClose(name('sequential.pValue'), row.sequential.pValue, want.sequential.pValue);
        expectClose(name('chanceToBeatControl'), row.chanceToBeatControl, want.chanceToBeatControl);
        expectClose(name('expectedLossTreatment'), row.expectedLossTreatment, want.expectedLossTreatment);
        expectClose(name('expectedLossControl'), row.expectedLossControl, want.expectedLossControl);
        expectInterval(name('credible.absolute'), row.credible.absolute, want.credible.absolute);
        expectInterval(name('credible.relative'), row.credible.relative, want.credible.relative);
      });
      expectClose('mde.absolute', metric.minimumDetectableEffect?.absolute, expected.minimumDetectableEffect.absolute);
      expectClose('mde.relative', metric.minimumDetectableEffect?.relative, expected.minimumDetectableEffect.relative);
    });
  });
});
