import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import type { SegmentRuleV1 } from '@flagstream/protocol';

@Entity({ name: 'segments' })
export class SegmentEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ type: 'text' }) key!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text', default: '' }) description!: string;
  @Column({ type: 'jsonb', default: () => "'[]'" }) included!: string[];
  @Column({ type: 'jsonb', default: () => "'[]'" }) excluded!: string[];
  @Column({ type: 'jsonb', default: () => "'[]'" }) rules!: SegmentRuleV1[];
  @VersionColumn() version!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
