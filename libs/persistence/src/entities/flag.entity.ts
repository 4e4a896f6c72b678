import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import type { FlagKind, VariationV1 } from '@flagstream/protocol';

@Entity({ name: 'flags' })
export class FlagEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ type: 'text' }) key!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) kind!: FlagKind;
  @Column({ type: 'jsonb' }) variations!: VariationV1[];
  @Column({ type: 'text', default: '' }) description!: string;
  @Column({ type: 'text', array: true, default: () => "'{}'" }) tags!: string[];
  @Column({ name: 'client_visible', type: 'boolean', default: false }) clientVisible!: boolean;
  @Column({ type: 'boolean', default: false }) archived!: boolean;
  @VersionColumn() version!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
