import { normalCdf, normalQuantile } from './distribution.functions';
import { analyzeExperiment, type ExperimentMetricInput } from './experiment.analysis';
import { meanMinimumDetectableEffect } from './power.analysis';
import type { RatioSums } from './ratio.summary';

// Expected values computed independently with SciPy 1.17 (norm.sf, chisquare, ttest_ind_from_stats).
describe('analyzeExperiment', () => {
  const variations = [
    { key: 'control', weight: 1, units: 1000 },
    { key: 'a', weight: 1, units: 1000 },
    { key: 'b', weight: 1, units: 1000 },
  ];

  it('compares every treatment to control, adjusting for several treatments with Holm', () => {
    const out = analyzeExperiment({
      control: 'control',
      variations,
      metrics: [{ key: 'checkout', role: 'primary', totals: { kind: 'conversion', byVariation: { control: { units: 1000, conversions: 100 }, a: { units: 1000, conversions: 130 }, b: { units: 1000, conversions: 105 } } } }],
    });
    const [metric] = out.metrics;
    expect(metric.control).toEqual({ units: 1000, value: 0.1 });
    const [a, b] = metric.treatments;
    expect(a.pValue).toBeCloseTo(0.03548845046647471, 12);
    expect(b.pValue).toBeCloseTo(0.7124129155997545, 12);
    // Holm: 2 × 0.0355 = 0.0710 (not below 0.05 any more), and 0.7124 stays.
    expect(a.adjustedPValue).toBeCloseTo(2 * 0.03548845046647471, 12);
    expect(b.adjustedPValue).toBeCloseTo(0.7124129155997545, 12);
    expect([a.verdict, b.verdict]).toEqual(['inconclusive', 'inconclusive']);
    expect(a.absolute.estimate).toBeCloseTo(0.03, 12);
    expect(a.relative.estimate).toBeCloseTo(0.3, 12);
    expect(a.chanceToBeatControl!).toBeGreaterThan(0.97);
    expect(a.expectedLossTreatment!).toBeLessThan(a.expectedLossControl!);
    // The always-valid interval is wider than the fixed-horizon one.
    expect(a.sequential.upper! - a.sequential.lower!).toBeGreaterThan(a.absolute.upper! - a.absolute.lower!);
    expect(a.sequential.pValue).toBeGreaterThan(a.pValue);
    expect(metric.minimumDetectableEffect!.absolute).toBeGreaterThan(0.02);
    expect(metric.minimumDetectableEffect!.absolute).toBeLessThan(0.05);
    expect(out.health).toMatchObject({ sampleRatioMismatch: { pValue: 1, mismatch: false }, multipleExposures: { units: 0, share: 0, flagged: false }, tooFewUnits: [] });
  });

  it('reads a significant change in a mean as better or worse by the metric direction', () => {
    // n = 500, sd 4: Σx² = 499·16 + 500·mean².
    const totals = { kind: 'mean' as const, byVariation: { control: { n: 500, sum: 5000, sumOfSquares: 57_984 }, a: { n: 500, sum: 5400, sumOfSquares: 66_304 } } };
    const two = [
      { key: 'control', weight: 1, units: 500 },
      { key: 'a', weight: 1, units: 500 },
    ];
    const revenue = analyzeExperiment({ control: 'control', variations: two, metrics: [{ key: 'revenue', role: 'primary', totals }] }).metrics[0];
    expect(revenue.treatments[0].pValue).toBeCloseTo(0.0016126476839001581, 10);
    expect(revenue.treatments[0].verdict).toBe('better');
    expect(revenue.treatments[0].value).toBeCloseTo(10.8, 12);
    const latency = analyzeExperiment({ control: 'control', variations: two, metrics: [{ key: 'latency', role: 'guardrail', lowerIsBetter: true, totals }] }).metrics[0];
    expect(latency.treatments[0].verdict).toBe('worse');
    expect(latency.treatments[0].chanceToBeatControl!).toBeLessThan(0.01);
    // Only the primary metric gets a minimum detectable effect.
    expect(latency.minimumDetectableEffect).toBeNull();
  });

  it('flags a sample ratio mismatch, multiple exposures and thin variations', () => {
    const out = analyzeExperiment({
      control: 'control',
      variations: [
        { key: 'control', weight: 1, units: 1100 },
        { key: 'a', weight: 1, units: 950 },
        { key: 'b', weight: 1, units: 950 },
      ],
      multipleExposureUnits: 40,
      minUnitsPerVariation: 1000,
      metrics: [],
    });
    expect(out.health.sampleRatioMismatch.pValue).toBeCloseTo(0.0005530843701478337, 12);
    expect(out.health.sampleRatioMismatch.mismatch).toBe(true);
    expect(out.health.sampleRatioMismatch.observedShares.control).toBeCloseTo(1100 / 3000, 12);
    expect(out.health.multipleExposures).toEqual({ units: 40, share: 40 / 3040, flagged: true });
    expect(out.health.tooFewUnits).toEqual(['a', 'b']);
  });

  it('refuses an experiment without its control or without treatments', () => {
    expect(() => analyzeExperiment({ control: 'x', variations, metrics: [] })).toThrow('control "x" is not one of the variations');
    expect(() => analyzeExperiment({ control: 'control', variations: [variations[0]], metrics: [] })).toThrow('an experiment needs at least one treatment');
  });

  it('gives no minimum detectable effect, rather than throwing, for a mean metric with a constant arm', () => {
    const totals = { kind: 'mean' as const, byVariation: { control: { n: 500, sum: 5000, sumOfSquares: 57_984 }, a: { n: 500, sum: 5000, sumOfSquares: 50_000 } } };
    const two = [
      { key: 'control', weight: 1, units: 500 },
      { key: 'a', weight: 1, units: 500 },
    ];
    const [metric] = analyzeExperiment({ control: 'control', variations: two, metrics: [{ key: 'm', role: 'primary', totals }] }).metrics;
    expect(metric.minimumDetectableEffect).toBeNull();
    expect(metric.treatments[0].value).toBe(10);
  });
});

describe('analyzeExperiment: ratio metrics', () => {
  // Twelve users per arm: (summed latency in ms, number of requests). Two users made no request.
  const control: Array<[number, number]> = [[210, 2], [95, 1], [0, 0], [330, 3], [480, 5], [105, 1], [190, 2], [0, 0], [400, 4], [310, 3], [98, 1], [205, 2]];
  const faster: Array<[number, number]> = [[190, 2], [60, 1], [250, 3], [0, 0], [340, 4], [70, 1], [200, 2], [380, 5], [75, 1], [260, 3], [0, 0], [165, 2]];
  const same: Array<[number, number]> = [[220, 2], [90, 1], [0, 0], [310, 3], [500, 5], [115, 1], [200, 2], [0, 0], [420, 4], [300, 3], [110, 1], [215, 2]];

  function sumsOf(units: Array<[number, number]>): RatioSums {
    return {
      n: units.length,
      sumX: units.reduce((s, [x]) => s + x, 0),
      sumY: units.reduce((s, [, y]) => s + y, 0),
      sumX2: units.reduce((s, [x]) => s + x * x, 0),
      sumY2: units.reduce((s, [, y]) => s + y * y, 0),
      sumXY: units.reduce((s, [x, y]) => s + x * y, 0),
    };
  }

  /** R and Var(R) straight from the units, by the linearised values (x - R·y)/ȳ and a two-pass variance: no sums. */
  function fromUnits(units: Array<[number, number]>): { ratio: number; variance: number; perUnitVariance: number } {
    const n = units.length;
    const yBar = units.reduce((s, [, y]) => s + y, 0) / n;
    const ratio = units.reduce((s, [x]) => s + x, 0) / units.reduce((s, [, y]) => s + y, 0);
    const linearised = units.map(([x, y]) => (x - ratio * y) / yBar);
    const mean = linearised.reduce((s, v) => s + v, 0) / n;
    const perUnitVariance = linearised.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
    return { ratio, variance: perUnitVariance / n, perUnitVariance };
  }

  const variations = [
    { key: 'control', weight: 1, units: 12 },
    { key: 'faster', weight: 1, units: 12 },
    { key: 'same', weight: 1, units: 12 },
  ];
  const latency = (overrides: Partial<ExperimentMetricInput> = {}): ExperimentMetricInput => ({
    key: 'latency',
    role: 'primary',
    lowerIsBetter: true,
    totals: { kind: 'ratio', byVariation: { control: sumsOf(control), faster: sumsOf(faster), same: sumsOf(same) } },
    ...overrides,
  });

  it('compares Σx/Σy per treatment with the delta-method variance over units, read with the normal', () => {
    const [metric] = analyzeExperiment({ control: 'control', variations, metrics: [latency()] }).metrics;
    const c = fromUnits(control);
    const f = fromUnits(faster);
    expect(metric.kind).toBe('ratio');
    expect(metric.control).toEqual({ units: 12, value: expect.closeTo(2423 / 24, 12) as number });
    const [a, b] = metric.treatments;
    expect(a.variation).toBe('faster');
    expect(a.units).toBe(12);
    expect(a.value).toBeCloseTo(1990 / 24, 12);

    const d = f.ratio - c.ratio;
    const se = Math.sqrt(c.variance + f.variance);
    const z = normalQuantile(0.975);
    expect(a.absolute.estimate).toBeCloseTo(d, 11);
    expect(a.absolute.standardError).toBeCloseTo(se, 12);
    expect(a.absolute.lower).toBeCloseTo(d - z * se, 11);
    expect(a.absolute.upper).toBeCloseTo(d + z * se, 11);
    // numpy.cov on these units gives Var(R) = 3.206998369107623 (control) and 7.3870212542087.
    expect(c.variance).toBeCloseTo(3.206998369107623, 12);
    expect(se).toBeCloseTo(3.25484556059367, 12);
    const relativeSe = Math.sqrt(f.variance / c.ratio ** 2 + (f.ratio ** 2 * c.variance) / c.ratio ** 4);
    expect(a.relative.estimate).toBeCloseTo(f.ratio / c.ratio - 1, 14);
    expect(a.relative.standardError).toBeCloseTo(relativeSe, 14);
    expect(a.relative.lower).toBeCloseTo(f.ratio / c.ratio - 1 - z * relativeSe, 13);
    // SciPy 1.17: 2 * norm.sf(18.0417 / 3.2548) and, for "same", 2 * norm.sf(2.375 / 2.2886).
    expect(a.pValue / 2.9730273680430857e-8).toBeCloseTo(1, 9);
    expect(b.pValue).toBeCloseTo(0.2993868624640261, 12);
    // Holm: the smaller p-value doubles, the larger one stays.
    expect(a.adjustedPValue / (2 * 2.9730273680430857e-8)).toBeCloseTo(1, 9);
    expect(b.adjustedPValue).toBeCloseTo(0.2993868624640261, 12);
    // Lower latency is better: "faster" wins, "same" is a draw.
    expect([a.verdict, b.verdict]).toEqual(['better', 'inconclusive']);
    expect(b.chanceToBeatControl).toBeCloseTo(normalCdf(-2.375 / 2.288607059945304), 12);
    expect(a.expectedLossTreatment!).toBeLessThan(1e-6);
    expect(a.expectedLossControl).toBeCloseTo(-d, 6);
    // The Bayesian intervals (flat prior) coincide with the z intervals; the always-valid one is wider.
    expect(a.credible.absolute.lower).toBeCloseTo(a.absolute.lower!, 12);
    expect(a.sequential.upper! - a.sequential.lower!).toBeGreaterThan(a.absolute.upper! - a.absolute.lower!);
    expect(a.sequential.pValue).toBeGreaterThan(a.pValue);

    // MDE with the per-unit variances against the smallest arm (all 12: the first treatment).
    const mde = meanMinimumDetectableEffect({ controlVariance: c.perUnitVariance, treatmentVariance: f.perUnitVariance, controlN: 12, treatmentN: 12, controlMean: c.ratio });
    expect(metric.minimumDetectableEffect!.absolute).toBeCloseTo(mde.absolute, 10);
    // SciPy brentq on the two-sided power: 9.118716042101228 ms, 9.0% of the control.
    expect(metric.minimumDetectableEffect!.absolute).toBeCloseTo(9.118716042101228, 9);
    expect(metric.minimumDetectableEffect!.relative).toBeCloseTo(0.09032157862584791, 10);
  });

  it('reads the same difference as worse when higher is better (revenue per order, say)', () => {
    const [metric] = analyzeExperiment({ control: 'control', variations, metrics: [latency({ lowerIsBetter: false, role: 'secondary' })] }).metrics;
    expect(metric.treatments.map((t) => t.verdict)).toEqual(['worse', 'inconclusive']);
    expect(metric.treatments[1].chanceToBeatControl).toBeCloseTo(normalCdf(2.375 / 2.288607059945304), 12);
    expect(metric.minimumDetectableEffect).toBeNull();
  });

  it('gives an inconclusive row with null value, not NaN, when a treatment has no denominator (Σy = 0)', () => {
    const noRequests = { n: 10, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
    const [metric] = analyzeExperiment({
      control: 'control',
      variations,
      metrics: [latency({ totals: { kind: 'ratio', byVariation: { control: sumsOf(control), faster: sumsOf(faster), same: noRequests } } })],
    }).metrics;
    const [a, b] = metric.treatments;
    expect(b).toEqual({
      variation: 'same',
      units: 10,
      value: null,
      absolute: { estimate: null, standardError: null, lower: null, upper: null },
      relative: { estimate: null, standardError: null, lower: null, upper: null },
      pValue: 1,
      adjustedPValue: 1,
      sequential: { lower: null, upper: null, pValue: 1 },
      chanceToBeatControl: null,
      expectedLossTreatment: null,
      expectedLossControl: null,
      credible: { absolute: { estimate: null, lower: null, upper: null }, relative: { estimate: null, lower: null, upper: null } },
      verdict: 'inconclusive',
    });
    // The other treatment is still read (Holm with the p = 1 of the undefined one).
    expect(a.verdict).toBe('better');
    expect(a.adjustedPValue / (2 * 2.9730273680430857e-8)).toBeCloseTo(1, 9);
    // The smallest arm has no ratio, so there is no minimum detectable effect either.
    expect(metric.minimumDetectableEffect).toBeNull();
  });

  it("gives every row as inconclusive when the control has no denominator, keeping each treatment's own ratio", () => {
    const noRequests = { n: 12, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
    const [metric] = analyzeExperiment({
      control: 'control',
      variations,
      metrics: [latency({ totals: { kind: 'ratio', byVariation: { control: noRequests, faster: sumsOf(faster), same: sumsOf(same) } } })],
    }).metrics;
    expect(metric.control).toEqual({ units: 12, value: null });
    expect(metric.treatments.map((t) => [t.value, t.absolute.estimate, t.pValue, t.verdict])).toEqual([
      [expect.closeTo(1990 / 24, 12), null, 1, 'inconclusive'],
      [expect.closeTo(2480 / 24, 12), null, 1, 'inconclusive'],
    ]);
    expect(metric.minimumDetectableEffect).toBeNull();
  });

  it('gives estimates but no test for an arm with fewer than 2 units', () => {
    const [metric] = analyzeExperiment({
      control: 'control',
      variations,
      metrics: [latency({ totals: { kind: 'ratio', byVariation: { control: sumsOf(control), faster: sumsOf([[300, 3]]), same: sumsOf(same) } } })],
    }).metrics;
    const [a] = metric.treatments;
    expect(a.value).toBe(100);
    expect(a.absolute).toEqual({ estimate: expect.closeTo(100 - 2423 / 24, 12) as number, standardError: null, lower: null, upper: null });
    expect(a.relative.estimate).toBeCloseTo(100 / (2423 / 24) - 1, 14);
    expect([a.pValue, a.sequential.pValue, a.chanceToBeatControl, a.verdict]).toEqual([1, 1, null, 'inconclusive']);
    expect(metric.minimumDetectableEffect).toBeNull();
  });

  it('refuses bad sums naming the metric, the variation and the field', () => {
    const run = (faster: RatioSums): unknown =>
      analyzeExperiment({ control: 'control', variations, metrics: [latency({ totals: { kind: 'ratio', byVariation: { control: sumsOf(control), faster, same: sumsOf(same) } } })] });
    const ok = sumsOf(faster);
    expect(() => run({ ...ok, sumY: -3 })).toThrow(new RangeError('latency.byVariation.faster.sumY must not be negative, got -3'));
    expect(() => run({ ...ok, n: 1.5 })).toThrow(new RangeError('latency.byVariation.faster.n must be a non-negative integer, got 1.5'));
    expect(() => run({ ...ok, sumX2: Infinity })).toThrow(new RangeError('latency.byVariation.faster.sumX2 must be a finite number, got Infinity'));
    expect(() => run({ ...ok, sumY2: 1 })).toThrow(/^latency\.byVariation\.faster\.sumY2 \(1\) is smaller than its sum²\/n/);
    expect(() =>
      analyzeExperiment({ control: 'control', variations, metrics: [latency({ totals: { kind: 'ratio', byVariation: { control: sumsOf(control), faster: ok } } })] }),
    ).toThrow(new RangeError('metric totals have no entry for variation "same"'));
  });
});
