import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AdminRole = 'owner' | 'editor' | 'viewer';

/** An admin API token. Only its SHA-256 hash is stored; the token itself is shown once. */
@Entity({ name: 'api_tokens' })
export class ApiTokenEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) role!: AdminRole;
  /** Restricts the token to one project; null means every project. */
  @Column({ name: 'project_id', type: 'uuid', nullable: true }) projectId!: string | null;
  @Column({ type: 'text' }) prefix!: string;
  @Column({ name: 'token_hash', type: 'text', unique: true, select: false }) tokenHash!: string;
  @Column({ name: 'created_by', type: 'text', nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true }) lastUsedAt!: Date | null;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt!: Date | null;
}
