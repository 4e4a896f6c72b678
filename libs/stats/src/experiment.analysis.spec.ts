import { analyzeExperiment } from './experiment.analysis';

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
});
