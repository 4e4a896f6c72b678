import { analyzeExperiment, type ExperimentAnalysis, type ExperimentMetricInput, type MetricTotals } from '@flagstream/stats';
import type { ExperimentEntity, ExperimentMetricEntity, ExperimentMetricTotalsRow, ExperimentSnapshotEntity, ExperimentUnitTotals } from '@flagstream/persistence';

/** Per-unit sums of one metric in one variation, as the aggregation computed them. */
export interface VariationMetricTotals {
  /** Counted units (with or without events). */
  n: number;
  /** Units with a positive numerator (for conversions: units that converted). */
  converted: number;
  sumX: number;
  sumX2: number;
  sumY: number;
  sumY2: number;
  sumXY: number;
}

/** What a snapshot stores besides the statistics: the totals they were computed from. */
export interface ExperimentTotals {
  units: { byVariation: Record<string, number>; multipleExposureUnits: number };
  metrics: Array<{ key: string; byVariation: Record<string, VariationMetricTotals> }>;
  /** Why the statistics could not be computed from these totals, when they could not. */
  analysisProblem?: string;
}

/** Every variation needs this many counted units before the statistics are computed. */
export const MIN_UNITS_FOR_ANALYSIS = 2;

const ZERO: VariationMetricTotals = { n: 0, converted: 0, sumX: 0, sumX2: 0, sumY: 0, sumY2: 0, sumXY: 0 };

/**
 * Arranges the repository's rows by metric key and variation: every variation present, n its
 * counted units, sums zero where no unit sent events.
 */
export function experimentTotals(experiment: Pick<ExperimentEntity, 'variations'>, metrics: readonly ExperimentMetricEntity[], units: ExperimentUnitTotals, rows: readonly ExperimentMetricTotalsRow[]): ExperimentTotals {
  const keys = experiment.variations.map((v) => v.variation);
  const n = (k: string) => units.byVariation[k] ?? 0;
  return {
    units: { byVariation: Object.fromEntries(keys.map((k) => [k, n(k)])), multipleExposureUnits: units.multipleExposureUnits },
    metrics: metrics.map((m) => ({
      key: m.key,
      byVariation: Object.fromEntries(
        keys.map((k) => {
          const row = rows.find((r) => r.position === m.position && r.variation === k);
          return [k, row ? { n: n(k), converted: row.converted, sumX: row.sumX, sumX2: row.sumX2, sumY: row.sumY, sumY2: row.sumY2, sumXY: row.sumXY } : { ...ZERO, n: n(k) }];
        }),
      ),
    })),
  };
}

/**
 * The statistics' input for one metric: conversions are units with a positive count; `count` and
 * `sum` are means of a per-unit value (units without events count 0); `mean` and `ratio` are
 * ratios of per-unit sums (Σvalues / Σevents, Σnumerator / Σdenominator) by the delta method.
 */
export function metricTotalsFor(kind: ExperimentMetricEntity['kind'], byVariation: Record<string, VariationMetricTotals>): MetricTotals {
  const entries = Object.entries(byVariation);
  switch (kind) {
    case 'conversion':
      return { kind: 'conversion', byVariation: Object.fromEntries(entries.map(([k, t]) => [k, { units: t.n, conversions: t.converted }])) };
    case 'count':
    case 'sum':
      return { kind: 'mean', byVariation: Object.fromEntries(entries.map(([k, t]) => [k, { n: t.n, sum: t.sumX, sumOfSquares: t.sumX2 }])) };
    case 'mean':
    case 'ratio':
      return { kind: 'ratio', byVariation: Object.fromEntries(entries.map(([k, t]) => [k, { n: t.n, sumX: t.sumX, sumY: t.sumY, sumX2: t.sumX2, sumY2: t.sumY2, sumXY: t.sumXY }])) };
  }
}

/**
 * The read-out of a snapshot's totals, or null while a variation has fewer than
 * {@link MIN_UNITS_FOR_ANALYSIS} counted units (there is nothing to compare yet).
 */
export function analyzeTotals(experiment: Pick<ExperimentEntity, 'variations' | 'controlVariation' | 'alpha'>, metrics: readonly ExperimentMetricEntity[], totals: ExperimentTotals): ExperimentAnalysis | null {
  if (experiment.variations.some((v) => (totals.units.byVariation[v.variation] ?? 0) < MIN_UNITS_FOR_ANALYSIS)) return null;
  const inputs: ExperimentMetricInput[] = metrics.map((m, i) => ({
    key: m.key,
    role: m.role,
    lowerIsBetter: m.lowerIsBetter,
    totals: metricTotalsFor(m.kind, totals.metrics[i]!.byVariation),
  }));
  return analyzeExperiment({
    control: experiment.controlVariation,
    variations: experiment.variations.map((v) => ({ key: v.variation, weight: v.weight, units: totals.units.byVariation[v.variation] ?? 0 })),
    multipleExposureUnits: totals.units.multipleExposureUnits,
    metrics: inputs,
    alpha: experiment.alpha,
  });
}

/** The results document of the API (`GET …/experiments/:key/results`). */
export interface ExperimentResultsView {
  experiment: {
    key: string;
    flag: string;
    status: ExperimentEntity['status'];
    control: string;
    variations: ExperimentEntity['variations'];
    coverage: number;
    unitAttribute: string;
    eventSources: ExperimentEntity['eventSources'];
    alpha: number;
    startedAt: string | null;
    stoppedAt: string | null;
  };
  /** The snapshot shown; null before the first aggregation. */
  snapshot: { id: number; computedAt: string; watermark: string; trigger: ExperimentSnapshotEntity['trigger']; eventsRead: number; durationMs: number } | null;
  /** Counted units per variation and units left out for multiple exposures. */
  units: ExperimentTotals['units'] | null;
  /** Sample progress: counted units, days running, and the smallest effect the primary metric can detect now. */
  progress: { units: number; days: number | null; primaryMinimumDetectableEffect: { absolute: number; relative: number | null } | null };
  /** Why there are no statistics yet, when there are none. */
  waitingFor: string | null;
  /**
   * For a running experiment: why its units are not being assigned as it says (the flag turned
   * off, its rollout replaced or re-weighted since the start), or null when they are.
   */
  assignmentProblem: string | null;
  health: ExperimentAnalysis['health'] | null;
  metrics: Array<ExperimentAnalysis['metrics'][number] & { event: string; denominatorEvent: string | null; windowSeconds: number | null; metricKind: ExperimentMetricEntity['kind'] }>;
}

/** The results view of an experiment from its latest snapshot (pure). */
export function presentExperimentResults(experiment: ExperimentEntity, metrics: readonly ExperimentMetricEntity[], snapshot: ExperimentSnapshotEntity | null, assignmentProblem: string | null = null): ExperimentResultsView {
  const totals = snapshot ? (snapshot.totals as unknown as ExperimentTotals) : null;
  const analysis = snapshot ? (snapshot.analysis as unknown as ExperimentAnalysis | null) : null;
  const unitCount = totals ? Object.values(totals.units.byVariation).reduce((s, n) => s + n, 0) : 0;
  const end = experiment.stoppedAt ?? snapshot?.watermark ?? null;
  const primary = analysis?.metrics.find((m) => m.role === 'primary') ?? null;
  return {
    experiment: {
      key: experiment.key,
      flag: experiment.flagKey,
      status: experiment.status,
      control: experiment.controlVariation,
      variations: experiment.variations,
      coverage: experiment.coverage,
      unitAttribute: experiment.unitAttribute,
      eventSources: experiment.eventSources,
      alpha: experiment.alpha,
      startedAt: experiment.startedAt?.toISOString() ?? null,
      stoppedAt: experiment.stoppedAt?.toISOString() ?? null,
    },
    snapshot: snapshot
      ? { id: snapshot.id, computedAt: snapshot.computedAt.toISOString(), watermark: snapshot.watermark.toISOString(), trigger: snapshot.trigger, eventsRead: snapshot.eventsRead, durationMs: snapshot.durationMs }
      : null,
    units: totals?.units ?? null,
    progress: {
      units: unitCount,
      days: experiment.startedAt && end ? Math.max(0, (end.getTime() - experiment.startedAt.getTime()) / 86_400_000) : null,
      primaryMinimumDetectableEffect: primary?.minimumDetectableEffect ?? null,
    },
    waitingFor: waitingFor(experiment, snapshot, analysis),
    assignmentProblem,
    health: analysis?.health ?? null,
    metrics: analysis
      ? analysis.metrics.map((r, i) => {
          const m = metrics[i]!;
          return { ...r, metricKind: m.kind, event: m.event, denominatorEvent: m.denominatorEvent, windowSeconds: m.windowSeconds };
        })
      : [],
  };
}

function waitingFor(experiment: ExperimentEntity, snapshot: ExperimentSnapshotEntity | null, analysis: ExperimentAnalysis | null): string | null {
  if (analysis) return null;
  if (experiment.status === 'draft') return 'the experiment has not started';
  if (!snapshot) return 'the first aggregation (the worker runs one every period; POST …/results runs one now)';
  const problem = (snapshot.totals as unknown as ExperimentTotals).analysisProblem;
  if (problem) return `statistics that can be computed from these totals (${problem})`;
  return `every variation needs at least ${MIN_UNITS_FOR_ANALYSIS} counted units`;
}

/** One point of the results' time series: counted units, and per metric each treatment's headline numbers. */
export interface ExperimentHistoryPoint {
  snapshot: number;
  computedAt: string;
  watermark: string;
  units: Record<string, number>;
  metrics: Array<{ key: string; treatments: Array<{ variation: string; value: number | null; relative: { estimate: number | null; lower: number | null; upper: number | null }; pValue: number; sequentialPValue: number; chanceToBeatControl: number | null }>; control: number | null }>;
}

export function historyPoint(snapshot: ExperimentSnapshotEntity): ExperimentHistoryPoint {
  const totals = snapshot.totals as unknown as ExperimentTotals;
  const analysis = snapshot.analysis as unknown as ExperimentAnalysis | null;
  return {
    snapshot: snapshot.id,
    computedAt: snapshot.computedAt.toISOString(),
    watermark: snapshot.watermark.toISOString(),
    units: totals.units.byVariation,
    metrics: (analysis?.metrics ?? []).map((m) => ({
      key: m.key,
      control: m.control.value,
      treatments: m.treatments.map((t) => ({
        variation: t.variation,
        value: t.value,
        relative: { estimate: t.relative.estimate, lower: t.relative.lower, upper: t.relative.upper },
        pValue: t.pValue,
        sequentialPValue: t.sequential.pValue,
        chanceToBeatControl: t.chanceToBeatControl,
      })),
    })),
  };
}
