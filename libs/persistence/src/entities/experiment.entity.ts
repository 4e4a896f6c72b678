import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { AuditActor } from '@flagstream/audit';
import type { FlagEnvironmentSettingsV1 } from '@flagstream/protocol';
import { bigintTransformer } from './bigint.transformer';

export type ExperimentStatus = 'draft' | 'running' | 'stopped';
export const EXPERIMENT_STATUSES: readonly ExperimentStatus[] = ['draft', 'running', 'stopped'];
export type ExperimentMetricRole = 'primary' | 'secondary' | 'guardrail';
export const EXPERIMENT_METRIC_ROLES: readonly ExperimentMetricRole[] = ['primary', 'secondary', 'guardrail'];
/**
 * How a metric turns a unit's events into a value: `conversion` (sent the event at least once),
 * `count` (events per unit), `sum` (values per unit), `mean` (mean of the observed values,
 * Σvalues / Σevents), `ratio` (Σ event values / Σ denominator event values).
 */
export type ExperimentMetricKind = 'conversion' | 'count' | 'sum' | 'mean' | 'ratio';
export const EXPERIMENT_METRIC_KINDS: readonly ExperimentMetricKind[] = ['conversion', 'count', 'sum', 'mean', 'ratio'];
export type ExperimentEventSources = 'all' | 'server';
export type ExperimentSnapshotTrigger = 'schedule' | 'manual' | 'stop';

/** A variation of the experiment and its relative weight (the shares of the covered traffic). */
export interface ExperimentVariationWeight {
  variation: string;
  weight: number;
}

/** How an experiment ended: the serve it left on the flag. */
export interface ExperimentOutcome {
  /** `restore`: the serve in place before the start; `variation`: every unit gets `variation`. */
  action: 'restore' | 'variation';
  variation?: string;
  reason?: string;
}

const numeric = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/** An A/B test on a flag's rollout in one environment; `version` counts every state change. */
@Entity({ name: 'experiments' })
export class ExperimentEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ name: 'flag_id', type: 'uuid' }) flagId!: string;
  @Column({ name: 'flag_key', type: 'text' }) flagKey!: string;
  /** Unique in the project; the rollout's `experiment` marker and every exposure carry it. */
  @Column({ type: 'text' }) key!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', nullable: true }) hypothesis!: string | null;
  @Column({ name: 'control_variation', type: 'text' }) controlVariation!: string;
  /** Every variation of the experiment, control included, with its relative weight. */
  @Column({ type: 'jsonb' }) variations!: ExperimentVariationWeight[];
  /** Share of eligible units that enter (0 < coverage ≤ 1); the rest get control, untracked. */
  @Column({ type: 'numeric', transformer: numeric }) coverage!: number;
  /** The attribute units are bucketed and counted by (`targetingKey`, `tenant.id`…). */
  @Column({ name: 'unit_attribute', type: 'text', default: 'targetingKey' }) unitAttribute!: string;
  /** The targeting rule whose serve the experiment takes over; null: the default serve. */
  @Column({ name: 'rule_id', type: 'text', nullable: true }) ruleId!: string | null;
  /** Which SDK keys' events count: `all`, or `server` keys only (client keys are public). */
  @Column({ name: 'event_sources', type: 'text', default: 'all' }) eventSources!: ExperimentEventSources;
  @Column({ type: 'numeric', transformer: numeric, default: 0.05 }) alpha!: number;
  @Column({ type: 'text', default: 'draft' }) status!: ExperimentStatus;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt!: Date | null;
  @Column({ name: 'stopped_at', type: 'timestamptz', nullable: true }) stoppedAt!: Date | null;
  /** The flag's settings in the environment when the experiment started: what `restore` puts back. */
  @Column({ name: 'settings_before', type: 'jsonb', nullable: true }) settingsBefore!: FlagEnvironmentSettingsV1 | null;
  @Column({ type: 'jsonb', nullable: true }) outcome!: ExperimentOutcome | null;
  /** When the last aggregation ran (its snapshot's time); the next one scans arrivals from a little before it. */
  @Column({ type: 'timestamptz', nullable: true }) watermark!: Date | null;
  /**
   * The transaction horizon of the last aggregation (`pg_snapshot_xmin`): every event inserted by
   * a transaction below it has been read; the next aggregation reads those at or above it.
   */
  @Column({ name: 'watermark_xid', type: 'bigint', nullable: true, transformer: bigintTransformer }) watermarkXid!: number | null;
  /**
   * Set once a stopped experiment's settle time (and a margin) has passed: the next transaction id
   * then. It is done when its horizon reaches this (every insert that began before is read).
   */
  @Column({ name: 'settle_xmax', type: 'bigint', nullable: true, transformer: bigintTransformer }) settleXmax!: number | null;
  /** Aggregation steps run so far (units record the step that added them). */
  @Column({ name: 'aggregation_step', type: 'integer', default: 0 }) aggregationStep!: number;
  @Column({ name: 'aggregated_at', type: 'timestamptz', nullable: true }) aggregatedAt!: Date | null;
  @Column({ type: 'integer', default: 1 }) version!: number;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** A metric of an experiment, defined over SDK metric events. */
@Entity({ name: 'experiment_metrics' })
export class ExperimentMetricEntity {
  @PrimaryColumn({ name: 'experiment_id', type: 'uuid' }) experimentId!: string;
  @PrimaryColumn({ type: 'integer' }) position!: number;
  @Column({ type: 'text' }) key!: string;
  @Column({ type: 'text' }) role!: ExperimentMetricRole;
  @Column({ type: 'text' }) kind!: ExperimentMetricKind;
  /** The metric event's name (the numerator's, for `ratio`). */
  @Column({ type: 'text' }) event!: string;
  @Column({ name: 'denominator_event', type: 'text', nullable: true }) denominatorEvent!: string | null;
  /** Only events within this many seconds after the unit's first exposure count; null: until the stop. */
  @Column({ name: 'window_seconds', type: 'integer', nullable: true }) windowSeconds!: number | null;
  @Column({ name: 'lower_is_better', type: 'boolean', default: false }) lowerIsBetter!: boolean;
}

/** The results of one aggregation: per-variation totals and the statistics computed from them. */
@Entity({ name: 'experiment_snapshots' })
export class ExperimentSnapshotEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer, insert: false, update: false }) id!: number;
  @Column({ name: 'experiment_id', type: 'uuid' }) experimentId!: string;
  @CreateDateColumn({ name: 'computed_at', type: 'timestamptz' }) computedAt!: Date;
  @Column({ type: 'timestamptz' }) watermark!: Date;
  @Column({ type: 'text' }) trigger!: ExperimentSnapshotTrigger;
  /** The transaction horizon of this aggregation: the oldest running transaction id, and the next one. */
  @Column({ name: 'horizon_xmin', type: 'bigint', transformer: bigintTransformer }) horizonXmin!: number;
  @Column({ name: 'horizon_xmax', type: 'bigint', transformer: bigintTransformer }) horizonXmax!: number;
  @Column({ name: 'events_read', type: 'bigint', transformer: bigintTransformer }) eventsRead!: number;
  @Column({ name: 'duration_ms', type: 'integer' }) durationMs!: number;
  @Column({ type: 'jsonb' }) totals!: Record<string, unknown>;
  @Column({ type: 'jsonb', nullable: true }) analysis!: Record<string, unknown> | null;
}
