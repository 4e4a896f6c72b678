import { analyzeExperiment, type ExperimentAnalysisInput, type MetricTotals } from './experiment.analysis';
import { mulberry32 } from './seeded-random';

/**
 * The aggregation calls analyzeExperiment on whatever the data are, from the first units on; a
 * throw there would fail the aggregation and stall the experiment. Every valid input — tiny
 * samples, no conversions, all conversions, constant values, empty denominators — must give a
 * read-out (nulls and inconclusive rows), never an exception or a NaN.
 */
describe('analyzeExperiment on degenerate but valid totals', () => {
  function totalsFrom(random: () => number, variations: string[]): { units: Record<string, number>; metrics: MetricTotals[] } {
    const units: Record<string, number> = {};
    const conversion: Record<string, { units: number; conversions: number }> = {};
    const mean: Record<string, { n: number; sum: number; sumOfSquares: number }> = {};
    const ratio: Record<string, { n: number; sumX: number; sumY: number; sumX2: number; sumY2: number; sumXY: number }> = {};
    const constant = random() < 0.3;
    for (const v of variations) {
      const n = Math.floor(random() * 6);
      units[v] = n;
      const rate = [0, 1, random()][Math.floor(random() * 3)]!;
      let conversions = 0;
      const m = { n, sum: 0, sumOfSquares: 0 };
      const r = { n, sumX: 0, sumY: 0, sumX2: 0, sumY2: 0, sumXY: 0 };
      for (let i = 0; i < n; i++) {
        if (random() < rate) conversions++;
        const x = constant ? 3 : Math.round(random() * 10);
        m.sum += x;
        m.sumOfSquares += x * x;
        const y = random() < 0.4 ? 0 : Math.round(random() * 4);
        const rx = y === 0 ? 0 : x;
        r.sumX += rx;
        r.sumY += y;
        r.sumX2 += rx * rx;
        r.sumY2 += y * y;
        r.sumXY += rx * y;
      }
      conversion[v] = { units: n, conversions };
      mean[v] = m;
      ratio[v] = r;
    }
    return { units, metrics: [{ kind: 'conversion', byVariation: conversion }, { kind: 'mean', byVariation: mean }, { kind: 'ratio', byVariation: ratio }] };
  }

  it('answers 1,000 random tiny experiments without throwing or producing NaN', () => {
    const random = mulberry32(9);
    for (let run = 0; run < 1000; run++) {
      const variations = run % 2 ? ['control', 'a'] : ['control', 'a', 'b'];
      const t = totalsFrom(random, variations);
      const input: ExperimentAnalysisInput = {
        control: 'control',
        variations: variations.map((key) => ({ key, weight: 1, units: t.units[key]! })),
        metrics: t.metrics.map((totals, i) => ({ key: `m${i}`, role: i === 0 ? 'primary' : 'secondary', totals })),
      };
      let out: ReturnType<typeof analyzeExperiment>;
      try {
        out = analyzeExperiment(input);
      } catch (err) {
        throw new Error(`run ${run} threw ${String(err)} on ${JSON.stringify(input)}`);
      }
      // JSON has no NaN: the stored snapshot would silently turn one into null.
      const json = JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `NON-FINITE ${v}` : v));
      expect({ run, nonFinite: json.includes('NON-FINITE') }).toEqual({ run, nonFinite: false });
    }
  });
});
