import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { AuditActor } from '@flagstream/audit';
import { bigintTransformer } from './bigint.transformer';

/** What a scheduled change does when it runs. */
export type ScheduledChangeKind = 'flag.settings' | 'flag.toggle' | 'config.set' | 'config.remove';
export const SCHEDULED_CHANGE_KINDS: readonly ScheduledChangeKind[] = ['flag.settings', 'flag.toggle', 'config.set', 'config.remove'];

export type ScheduledChangeStatus = 'pending' | 'applied' | 'cancelled' | 'failed';
export const SCHEDULED_CHANGE_STATUSES: readonly ScheduledChangeStatus[] = ['pending', 'applied', 'cancelled', 'failed'];

/** Why a change could not be applied at its time (a domain error, as the admin API would answer it). */
export interface ScheduledChangeError {
  code: string;
  message: string;
  details: ReadonlyArray<{ path?: string; message: string }>;
}

/**
 * A flag or config write to apply at `runAt`. `version` counts the edits people make
 * (reschedule, cancel); the worker applies a change only while it is pending at the version its
 * job names.
 */
@Entity({ name: 'scheduled_changes' })
export class ScheduledChangeEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ type: 'text' }) kind!: ScheduledChangeKind;
  @Column({ name: 'target_type', type: 'text' }) targetType!: 'flag' | 'config';
  /** The flag key or the config item key. */
  @Column({ name: 'target_key', type: 'text' }) targetKey!: string;
  /** Config writes to a tenant override; null for the environment's own value and for flags. */
  @Column({ type: 'text', nullable: true }) tenant!: string | null;
  /** The rest of the change: the settings, `{ on }`, `{ value }` or `{}`. */
  @Column({ type: 'jsonb' }) payload!: unknown;
  @Column({ name: 'run_at', type: 'timestamptz' }) runAt!: Date;
  @Column({ type: 'text', default: 'pending' }) status!: ScheduledChangeStatus;
  @Column({ type: 'integer', default: 1 }) version!: number;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ name: 'applied_at', type: 'timestamptz', nullable: true }) appliedAt!: Date | null;
  /** The environment revision the applied change got (null: it changed nothing there). */
  @Column({ type: 'bigint', nullable: true, transformer: bigintTransformer }) revision!: number | null;
  @Column({ type: 'jsonb', nullable: true }) error!: ScheduledChangeError | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
