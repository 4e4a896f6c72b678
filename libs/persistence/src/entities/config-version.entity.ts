import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** One immutable version of a config item: the changes it made, who made them, why and when. */
@Entity({ name: 'config_versions' })
export class ConfigVersionEntity {
  @PrimaryColumn({ name: 'item_id', type: 'uuid' }) itemId!: string;
  @PrimaryColumn({ type: 'integer' }) version!: number;
  /** created, updated, value.set, value.removed, rules.set, rollback, deleted, imported. */
  @Column({ type: 'text' }) action!: string;
  /** `ConfigChange[]` of libs/config, with environments by key. */
  @Column({ type: 'jsonb' }) changes!: unknown;
  @Column({ type: 'text' }) author!: string;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ name: 'request_id', type: 'text', nullable: true }) requestId!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}
