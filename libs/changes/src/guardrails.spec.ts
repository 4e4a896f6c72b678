import type { ExposureSample } from '@flagstream/persistence';
import { evaluateGuardrail, guardrailProblems, guardrailRow, type GuardrailSpec } from './guardrails';

const window = { since: new Date('2026-11-26T10:00:00Z'), until: new Date('2026-11-26T11:00:00Z') };
const spec = (over: Partial<GuardrailSpec> = {}): GuardrailSpec => ({ ...guardrailRow({ metric: 'errors' }, 0), ...over });
const sample = (t: [number, number, number?, number?], c: [number, number, number?, number?], mixedUnits = 0): ExposureSample => ({
  treatment: { units: t[0], unitsWithEvents: t[1], sum: t[2] ?? t[1], sumOfSquares: t[3] ?? t[1] },
  control: { units: c[0], unitsWithEvents: c[1], sum: c[2] ?? c[1], sumOfSquares: c[3] ?? c[1] },
  mixedUnits,
});

describe('guardrailRow', () => {
  it('applies the documented defaults', () => {
    expect(guardrailRow({ metric: 'errors' }, 2)).toEqual({
      position: 2,
      metric: 'errors',
      statistic: 'rate',
      comparison: 'control',
      worseWhen: 'higher',
      threshold: null,
      maxRelativeChange: 0,
      alpha: 0.01,
      windowSeconds: 3600,
      minSampleSize: 100,
      rollback: 'previous-milestone',
      eventSources: 'server',
    });
    expect(guardrailRow({ metric: 'p99', comparison: 'absolute', threshold: 250, statistic: 'mean' }, 0)).toMatchObject({ threshold: 250, maxRelativeChange: null });
  });
});

describe('guardrailProblems', () => {
  it('accepts none, and a valid list', () => {
    expect(guardrailProblems(undefined)).toEqual([]);
    expect(guardrailProblems([{ metric: 'errors' }, { metric: 'latency', statistic: 'mean', comparison: 'absolute', threshold: 300, worseWhen: 'higher' }])).toEqual([]);
  });

  it('names every problem with its path', () => {
    const problems = guardrailProblems([
      { metric: '1x' },
      { metric: 'a', comparison: 'absolute' },
      { metric: 'b', threshold: 0.1 },
      { metric: 'c', comparison: 'absolute', threshold: 1.5 },
      { metric: 'd', alpha: 0.7, windowSeconds: 1, minSampleSize: 0, maxRelativeChange: -1 },
      { metric: 'e', statistic: 'median' as never, rollback: 'later' as never },
      { metric: 'f', comparison: 'absolute', threshold: 0.1, alpha: 0.05 },
    ]);
    expect(problems.map((p) => p.path)).toEqual([
      'guardrails.0.metric',
      'guardrails.1.threshold',
      'guardrails.2.threshold',
      'guardrails.3.threshold',
      'guardrails.4.alpha',
      'guardrails.4.maxRelativeChange',
      'guardrails.4.windowSeconds',
      'guardrails.4.minSampleSize',
      'guardrails.5.statistic',
      'guardrails.5.rollback',
      'guardrails.6',
    ]);
    expect(guardrailProblems(Array.from({ length: 11 }, () => ({ metric: 'x' })))).toEqual([{ path: 'guardrails', message: 'must hold at most 10 guardrails' }]);
  });
});

describe('evaluateGuardrail against the control', () => {
  it('waits for the minimum sample in both groups', () => {
    const e = evaluateGuardrail(spec(), sample([99, 50], [500, 0]), window);
    expect(e).toMatchObject({ status: 'insufficient-data', pValue: null, treatment: { units: 99, value: 50 / 99 }, control: { units: 500, value: 0 } });
    expect(e.reason).toBe('99 treatment and 500 control units; 100 needed in each');
    expect(e.since).toBe('2026-11-26T10:00:00.000Z');
  });

  it('breaches when the treatment errs significantly more', () => {
    // 30/300 vs 10/700: z = 6.3387 with the pooled standard error; SciPy's norm.sf(z) = 1.15888358e-10.
    const e = evaluateGuardrail(spec(), sample([300, 30], [700, 10], 4), window);
    expect(e.status).toBe('breached');
    expect(e.pValue!).toBeCloseTo(1.1588835797942081e-10, 18);
    expect(e.relativeChange!).toBeCloseTo((0.1 - 10 / 700) / (10 / 700), 10);
    expect(e.mixedUnits).toBe(4);
    expect(e.reason).toMatch(/^errors rate: treatment 10.0% over 300 units vs control 1.43% over 700 units \(\+600%\), worse beyond 0.00% with p = /);
  });

  it('stays ok when the difference is noise, or is an improvement', () => {
    expect(evaluateGuardrail(spec(), sample([300, 16], [700, 33]), window).status).toBe('ok');
    const better = evaluateGuardrail(spec(), sample([300, 1], [700, 70]), window);
    expect(better.status).toBe('ok');
    expect(better.pValue!).toBeGreaterThan(0.99);
  });

  it('tolerates a significant worsening within maxRelativeChange', () => {
    const big = sample([100_000, 5_500], [100_000, 5_000]); // +10%, p far below 0.01
    expect(evaluateGuardrail(spec({ maxRelativeChange: 0.2 }), big, window).status).toBe('ok');
    expect(evaluateGuardrail(spec({ maxRelativeChange: 0.05 }), big, window).status).toBe('breached');
  });

  it('treats any significant worsening over a control at zero as beyond the tolerance', () => {
    const e = evaluateGuardrail(spec({ maxRelativeChange: 10 }), sample([200, 40], [200, 0]), window);
    expect(e.relativeChange).toBeNull();
    expect(e.status).toBe('breached');
  });

  it('looks the other way when lower is worse', () => {
    const conversions = sample([1000, 50], [1000, 120]);
    expect(evaluateGuardrail(spec({ worseWhen: 'lower' }), conversions, window).status).toBe('breached');
    expect(evaluateGuardrail(spec(), conversions, window).status).toBe('ok');
  });

  it('compares means with Welch’s t-test', () => {
    // Treatment: 200 units, total 600, sum of squares 2200 -> mean 3, variance (2200 - 200*9)/199 = 2.01.
    // Control: 200 units, total 400, sum of squares 1000 -> mean 2, variance (1000 - 200*4)/199 = 1.005.
    const e = evaluateGuardrail(spec({ statistic: 'mean' }), sample([200, 150, 600, 2200], [200, 120, 400, 1000]), window);
    expect(e.treatment.value).toBe(3);
    expect(e.control.value).toBe(2);
    expect(e.status).toBe('breached');
    expect(e.pValue!).toBeLessThan(1e-9);
  });
});

describe('evaluateGuardrail with values too large to compare', () => {
  it('gives no verdict rather than failing', () => {
    const huge = { treatment: { units: 500, unitsWithEvents: 10, sum: 1e200, sumOfSquares: Infinity }, control: { units: 500, unitsWithEvents: 0, sum: 0, sumOfSquares: 0 }, mixedUnits: 0 };
    expect(evaluateGuardrail(spec({ statistic: 'mean' }), huge, window)).toMatchObject({ status: 'insufficient-data', reason: 'errors: metric values too large to compare' });
  });
});

describe('evaluateGuardrail against an absolute threshold', () => {
  const abs = spec({ comparison: 'absolute', threshold: 0.05, maxRelativeChange: null, minSampleSize: 50 });

  it('breaches past the threshold with enough treatment units, whatever the control', () => {
    const e = evaluateGuardrail(abs, sample([60, 4], [0, 0]), window);
    expect(e).toMatchObject({ status: 'breached', pValue: null, control: { units: 0, value: null } });
    expect(e.reason).toBe('errors rate in the treatment is 6.67% over 60 units, past the threshold 5.00% (higher is worse)');
  });

  it('is ok at the threshold, and waits below the minimum sample', () => {
    expect(evaluateGuardrail(abs, sample([100, 5], [0, 0]), window).status).toBe('ok');
    expect(evaluateGuardrail(abs, sample([49, 49], [0, 0]), window)).toMatchObject({ status: 'insufficient-data', reason: '49 of 50 units needed in the treatment' });
  });
});
