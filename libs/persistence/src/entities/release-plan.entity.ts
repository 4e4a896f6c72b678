import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { AuditActor } from '@flagstream/audit';
import type { FlagEnvironmentSettingsV1, WeightedVariationV1 } from '@flagstream/protocol';
import { bigintTransformer } from './bigint.transformer';

export type ReleasePlanStatus = 'draft' | 'running' | 'paused' | 'completed' | 'aborted';
export const RELEASE_PLAN_STATUSES: readonly ReleasePlanStatus[] = ['draft', 'running', 'paused', 'completed', 'aborted'];
/** The statuses that hold the flag: one such plan per flag and environment. */
export const ACTIVE_RELEASE_PLAN_STATUSES: readonly ReleasePlanStatus[] = ['draft', 'running', 'paused'];

const numeric = { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/**
 * A gradual rollout of a flag in one environment. `currentMilestone` is -1 before start;
 * `version` counts every state change, and a worker job applies a transition only at its version.
 */
@Entity({ name: 'release_plans' })
export class ReleasePlanEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ name: 'flag_id', type: 'uuid' }) flagId!: string;
  /** Flag keys never change; kept here so views need no join. */
  @Column({ name: 'flag_key', type: 'text' }) flagKey!: string;
  @Column({ name: 'control_variation', type: 'text' }) controlVariation!: string;
  @Column({ name: 'treatment_variation', type: 'text' }) treatmentVariation!: string;
  @Column({ type: 'text', default: 'draft' }) status!: ReleasePlanStatus;
  @Column({ name: 'current_milestone', type: 'integer', default: -1 }) currentMilestone!: number;
  /** The flag's settings when the plan started: what abort restores. */
  @Column({ name: 'settings_before', type: 'jsonb', nullable: true }) settingsBefore!: FlagEnvironmentSettingsV1 | null;
  @Column({ name: 'next_transition_at', type: 'timestamptz', nullable: true }) nextTransitionAt!: Date | null;
  /** While paused: what was left of the bake time. */
  @Column({ name: 'remaining_bake_ms', type: 'integer', nullable: true }) remainingBakeMs!: number | null;
  @Column({ type: 'integer', default: 1 }) version!: number;
  /** When the current observation period began (last milestone applied, or resume): guardrails judge data from then on. */
  @Column({ name: 'observe_since', type: 'timestamptz', nullable: true }) observeSince!: Date | null;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** One step of a plan: a percentage of the treatment (or explicit weights) and the gate after it. */
@Entity({ name: 'release_plan_milestones' })
export class ReleasePlanMilestoneEntity {
  @PrimaryColumn({ name: 'plan_id', type: 'uuid' }) planId!: string;
  @PrimaryColumn({ type: 'integer' }) position!: number;
  @Column({ type: 'numeric', nullable: true, transformer: numeric }) percentage!: number | null;
  @Column({ type: 'jsonb', nullable: true }) weights!: WeightedVariationV1[] | null;
  @Column({ name: 'bake_seconds', type: 'integer', nullable: true }) bakeSeconds!: number | null;
  @Column({ type: 'boolean', default: false }) manual!: boolean;
}

/** An append-only record of a plan's transition: who or what moved it, and the revision it got. */
@Entity({ name: 'release_plan_transitions' })
export class ReleasePlanTransitionEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer, insert: false, update: false }) seq!: number;
  @Column({ name: 'plan_id', type: 'uuid' }) planId!: string;
  @Column({ type: 'text' }) action!: string;
  @Column({ name: 'from_milestone', type: 'integer' }) fromMilestone!: number;
  @Column({ name: 'to_milestone', type: 'integer' }) toMilestone!: number;
  @Column({ type: 'text' }) status!: ReleasePlanStatus;
  @Column({ type: 'jsonb' }) actor!: AuditActor;
  @Column({ type: 'bigint', nullable: true, transformer: bigintTransformer }) revision!: number | null;
  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' }) occurredAt!: Date;
}

export type GuardrailStatistic = 'rate' | 'mean';
export type GuardrailComparison = 'control' | 'absolute';
export type GuardrailRollback = 'previous-milestone' | 'off';

/**
 * A metric a running plan is watched on. `last_evaluation` holds the worker's last verdict
 * (a JSON document shaped by libs/changes), so status pages need no recomputation.
 */
@Entity({ name: 'release_plan_guardrails' })
export class ReleasePlanGuardrailEntity {
  @PrimaryColumn({ name: 'plan_id', type: 'uuid' }) planId!: string;
  @PrimaryColumn({ type: 'integer' }) position!: number;
  @Column({ type: 'text' }) metric!: string;
  @Column({ type: 'text' }) statistic!: GuardrailStatistic;
  @Column({ type: 'text' }) comparison!: GuardrailComparison;
  @Column({ name: 'worse_when', type: 'text' }) worseWhen!: 'higher' | 'lower';
  @Column({ type: 'double precision', nullable: true }) threshold!: number | null;
  @Column({ name: 'max_relative_change', type: 'double precision', nullable: true }) maxRelativeChange!: number | null;
  @Column({ type: 'double precision' }) alpha!: number;
  @Column({ name: 'window_seconds', type: 'integer' }) windowSeconds!: number;
  @Column({ name: 'min_sample_size', type: 'integer' }) minSampleSize!: number;
  @Column({ type: 'text' }) rollback!: GuardrailRollback;
  /** Whose events count: server SDK keys only (default), or client keys too (public: anyone can send). */
  @Column({ name: 'event_sources', type: 'text' }) eventSources!: 'server' | 'all';
  @Column({ name: 'last_evaluation', type: 'jsonb', nullable: true }) lastEvaluation!: Record<string, unknown> | null;
  @Column({ name: 'last_evaluated_at', type: 'timestamptz', nullable: true }) lastEvaluatedAt!: Date | null;
}
