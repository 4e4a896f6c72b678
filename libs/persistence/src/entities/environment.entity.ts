import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn, VersionColumn } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';

@Entity({ name: 'environments' })
export class EnvironmentEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ type: 'text' }) key!: string;
  @Column({ type: 'text' }) name!: string;
  /** The environment this one inherits configuration from (e.g. prod-eu -> prod). */
  @Column({ name: 'parent_id', type: 'uuid', nullable: true }) parentId!: string | null;
  @Column({ type: 'boolean', default: false }) protected!: boolean;
  /** Gap-free, per-environment change counter; bumped by every change that reaches SDKs. */
  @Column({ type: 'bigint', default: 0, transformer: bigintTransformer }) revision!: number;
  @VersionColumn() version!: number;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
