import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type SdkKeyKind = 'server' | 'client';

/** A per-environment SDK key. Only its SHA-256 hash is stored; the key itself is shown once. */
@Entity({ name: 'sdk_keys' })
export class SdkKeyEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ type: 'text' }) kind!: SdkKeyKind;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) prefix!: string;
  @Column({ name: 'key_hash', type: 'text', unique: true, select: false }) keyHash!: string;
  @Column({ name: 'created_by', type: 'text', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt!: Date | null;
}
