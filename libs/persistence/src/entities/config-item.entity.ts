import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ConfigMergeStrategy } from '@flagstream/protocol';

/** A config item's current definition. `version` counts every change of the item (its history). */
@Entity({ name: 'config_items' })
export class ConfigItemEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ type: 'text' }) key!: string;
  @Column({ type: 'text', default: '' }) description!: string;
  @Column({ type: 'jsonb' }) schema!: unknown;
  @Column({ type: 'text', default: 'replace' }) merge!: ConfigMergeStrategy;
  @Column({ name: 'client_visible', type: 'boolean', default: false }) clientVisible!: boolean;
  @Column({ type: 'text', array: true, default: () => "'{}'" }) tags!: string[];
  /** Deleted items keep their row and history; creating the key again continues the history. */
  @Column({ type: 'boolean', default: false }) deleted!: boolean;
  @Column({ type: 'integer', default: 1 }) version!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
