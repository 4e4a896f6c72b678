import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';

/** One link of the tamper-evident audit chain. A trigger rejects UPDATE and DELETE. */
@Entity({ name: 'audit_events' })
export class AuditEventEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer }) seq!: number;
  @Column({ name: 'occurred_at', type: 'timestamptz' }) occurredAt!: Date;
  @Column({ name: 'actor_type', type: 'text' }) actorType!: string;
  @Column({ name: 'actor_id', type: 'text' }) actorId!: string;
  @Column({ name: 'actor_name', type: 'text' }) actorName!: string;
  @Column({ type: 'text' }) action!: string;
  @Column({ name: 'target_type', type: 'text' }) targetType!: string;
  @Column({ name: 'target_key', type: 'text' }) targetKey!: string;
  @Column({ name: 'project_key', type: 'text', nullable: true }) projectKey!: string | null;
  @Column({ name: 'environment_key', type: 'text', nullable: true }) environmentKey!: string | null;
  @Column({ type: 'jsonb', nullable: true }) before!: unknown;
  @Column({ type: 'jsonb', nullable: true }) after!: unknown;
  @Column({ name: 'request_id', type: 'text', nullable: true }) requestId!: string | null;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ name: 'prev_hash', type: 'text' }) prevHash!: string;
  @Column({ type: 'text' }) hash!: string;
}
