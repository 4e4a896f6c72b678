import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import type { ChangeEventV1 } from '@flagstream/protocol';
import { bigintTransformer } from './bigint.transformer';

/** A change committed with its revision, waiting for the relay to publish it to Redis. */
@Entity({ name: 'outbox' })
export class OutboxEntity {
  /** bigserial; rows are inserted with SQL by OutboxRepository. */
  @PrimaryColumn({ type: 'bigint', transformer: bigintTransformer }) id!: number;
  @Column({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ type: 'bigint', transformer: bigintTransformer }) revision!: number;
  @Column({ type: 'jsonb' }) event!: ChangeEventV1;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'published_at', type: 'timestamptz', nullable: true }) publishedAt!: Date | null;
}
