import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { AuditActor } from '@flagstream/audit';

/** Where a signing key is in its life: published first, then signing, then verifying only, then gone. */
export type SigningKeyStatus = 'next' | 'current' | 'previous' | 'retired';
export const SIGNING_KEY_STATUSES: readonly SigningKeyStatus[] = ['next', 'current', 'previous', 'retired'];

/** JWS algorithms of signing keys: Ed25519 (`EdDSA`, RFC 8037) and ECDSA P-256 with SHA-256 (`ES256`). */
export type SigningAlgorithm = 'EdDSA' | 'ES256';
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256'];

/** The public half of a signing key as a JWK (RFC 7517): what the JWKS publishes. */
export interface PublicSigningJwk {
  kty: 'OKP' | 'EC';
  crv: 'Ed25519' | 'P-256';
  x: string;
  /** P-256 only. */
  y?: string;
  kid: string;
  use: 'sig';
  alg: SigningAlgorithm;
}

/**
 * One key pair of a project. The private key is an envelope ciphertext (libs/crypto) that is
 * never selected with the metadata, and NULL once the key is retired.
 */
@Entity({ name: 'signing_keys' })
export class SigningKeyEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  /** RFC 7638 thumbprint of the public key (base64url SHA-256). */
  @Column({ type: 'text' }) kid!: string;
  @Column({ type: 'text' }) algorithm!: SigningAlgorithm;
  @Column({ name: 'public_jwk', type: 'jsonb' }) publicJwk!: PublicSigningJwk;
  /** Never selected by default: only signing reads it (`SigningKeyRepository.privateKeyOf`). */
  @Column({ name: 'private_key', type: 'bytea', nullable: true, select: false }) privateKey!: Buffer | null;
  @Column({ name: 'kek_version', type: 'integer', nullable: true }) kekVersion!: number | null;
  @Column({ type: 'text' }) status!: SigningKeyStatus;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  /** When it was published (set by the domain's clock, which also decides when it may sign). */
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'activated_at', type: 'timestamptz', nullable: true }) activatedAt!: Date | null;
  /** When it stopped signing (became `previous`). */
  @Column({ name: 'deactivated_at', type: 'timestamptz', nullable: true }) deactivatedAt!: Date | null;
  /** A `previous` key stays published until then: tokens it signed may still be valid. */
  @Column({ name: 'retire_after', type: 'timestamptz', nullable: true }) retireAfter!: Date | null;
  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true }) retiredAt!: Date | null;
}

/** A project's token and rotation settings; a project without a row uses the defaults. */
@Entity({ name: 'signing_key_settings' })
export class SigningKeySettingsEntity {
  @PrimaryColumn({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ name: 'token_lifetime_seconds', type: 'integer' }) tokenLifetimeSeconds!: number;
  @Column({ name: 'jwks_cache_seconds', type: 'integer' }) jwksCacheSeconds!: number;
  @Column({ name: 'rotation_interval_days', type: 'integer', nullable: true }) rotationIntervalDays!: number | null;
  @Column({ name: 'updated_by', type: 'jsonb' }) updatedBy!: AuditActor;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
