import { Column, CreateDateColumn, Entity, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { AuditActor } from '@flagstream/audit';

/** A secret's path in one environment; its value lives in `secret_versions`. */
@Entity({ name: 'secrets' })
export class SecretEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ type: 'text' }) path!: string;
  @Column({ name: 'current_version', type: 'integer' }) currentVersion!: number;
  /** Soft delete: hidden from reads and inheritance until restored. */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt!: Date | null;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}

/** One immutable version: an envelope ciphertext (libs/crypto), or nothing once destroyed. */
@Entity({ name: 'secret_versions' })
export class SecretVersionEntity {
  @PrimaryColumn({ name: 'secret_id', type: 'uuid' }) secretId!: string;
  @PrimaryColumn({ type: 'integer' }) version!: number;
  /** Never selected by default: only the reveal path asks for it. */
  @Column({ type: 'bytea', nullable: true, select: false }) ciphertext!: Buffer | null;
  @Column({ name: 'kek_version', type: 'integer', nullable: true }) kekVersion!: number | null;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'destroyed_at', type: 'timestamptz', nullable: true }) destroyedAt!: Date | null;
}

export type SecretSubjectType = 'role' | 'sdk-key';

/** A read grant (deny by default): a role or a server SDK key, path patterns, environments. */
@Entity({ name: 'secret_policies' })
export class SecretPolicyEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ name: 'subject_type', type: 'text' }) subjectType!: SecretSubjectType;
  /** A role name, or an SDK key id. */
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'jsonb' }) paths!: string[];
  /** Environment keys, or `"*"`. */
  @Column({ type: 'jsonb' }) environments!: string[] | '*';
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

export type SecretRotator = 'random-token' | 'webhook';

/** How and when a secret gets a new value (docs/secrets.md#rotation). */
@Entity({ name: 'secret_rotation_policies' })
export class SecretRotationPolicyEntity {
  @PrimaryColumn({ name: 'secret_id', type: 'uuid' }) secretId!: string;
  @Column({ name: 'interval_seconds', type: 'integer' }) intervalSeconds!: number;
  @Column({ name: 'notify_before_seconds', type: 'integer' }) notifyBeforeSeconds!: number;
  @Column({ name: 'grace_seconds', type: 'integer' }) graceSeconds!: number;
  @Column({ type: 'text' }) rotator!: SecretRotator;
  @Column({ name: 'rotator_config', type: 'jsonb' }) rotatorConfig!: Record<string, unknown>;
  @Column({ name: 'next_rotation_at', type: 'timestamptz' }) nextRotationAt!: Date;
  @Column({ name: 'last_rotated_at', type: 'timestamptz', nullable: true }) lastRotatedAt!: Date | null;
  /** The version replaced by the last rotation, still served beside the new one until `graceUntil`. */
  @Column({ name: 'previous_version', type: 'integer', nullable: true }) previousVersion!: number | null;
  @Column({ name: 'grace_until', type: 'timestamptz', nullable: true }) graceUntil!: Date | null;
  @Column({ name: 'consecutive_failures', type: 'integer' }) consecutiveFailures!: number;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError!: string | null;
  /** The `nextRotationAt` a "rotation due" notice was sent for (one notice per cycle). */
  @Column({ name: 'notified_for', type: 'timestamptz', nullable: true }) notifiedFor!: Date | null;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
