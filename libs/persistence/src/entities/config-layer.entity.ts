import { Column, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ClauseV1, ConfigLayerScope } from '@flagstream/protocol';

/** One current layer of a config item (docs/configuration.md). */
@Entity({ name: 'config_layers' })
export class ConfigLayerEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'item_id', type: 'uuid' }) itemId!: string;
  @Column({ type: 'text' }) scope!: ConfigLayerScope;
  @Column({ name: 'environment_id', type: 'uuid', nullable: true }) environmentId!: string | null;
  @Column({ type: 'text', nullable: true }) tenant!: string | null;
  @Column({ name: 'rule_id', type: 'text', nullable: true }) ruleId!: string | null;
  @Column({ type: 'jsonb', nullable: true }) clauses!: ClauseV1[] | null;
  @Column({ type: 'integer', nullable: true }) position!: number | null;
  @Column({ type: 'jsonb' }) value!: unknown;
  /** The item version that last wrote this layer. */
  @Column({ type: 'integer' }) version!: number;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
