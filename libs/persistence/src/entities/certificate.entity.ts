import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AuditActor } from '@flagstream/audit';

/** Where a certificate comes from: uploaded with its key, or issued (and renewed) by the project CA. */
export type CertificateKind = 'uploaded' | 'issued';
/** What made a version: an upload, the first issuance, or a renewal (manual or scheduled). */
export type CertificateVersionSource = 'upload' | 'issue' | 'renewal';
/** Key types the project CA issues certificates with. */
export type IssuedKeyType = 'ECDSA-P256' | 'ECDSA-P384' | 'RSA-2048' | 'RSA-3072';
export const ISSUED_KEY_TYPES: readonly IssuedKeyType[] = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072'];

/** One subject alternative name of a certificate, as parsed (`dns`, `ip`, `email`, `url`, …). */
export interface SubjectAltName {
  type: string;
  value: string;
}

/**
 * A certificate authority of a project: self-signed, ECDSA P-256. The newest one issues; older ones
 * keep renewing the certificates they issued. Its private key is an envelope ciphertext never
 * selected with the metadata (`CertificateRepository.authorityKeyOf`).
 */
@Entity({ name: 'certificate_authorities' })
export class CertificateAuthorityEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ name: 'certificate_pem', type: 'text' }) certificatePem!: string;
  @Column({ type: 'text' }) subject!: string;
  @Column({ name: 'serial_number', type: 'text' }) serialNumber!: string;
  @Column({ type: 'text' }) fingerprint256!: string;
  @Column({ name: 'not_before', type: 'timestamptz' }) notBefore!: Date;
  @Column({ name: 'not_after', type: 'timestamptz' }) notAfter!: Date;
  /** Never selected by default: only issuing reads it. */
  @Column({ name: 'private_key', type: 'bytea', select: false }) privateKey!: Buffer;
  @Column({ name: 'kek_version', type: 'integer' }) kekVersion!: number;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/** A certificate at a name in one environment; its chains and keys live in `certificate_versions`. */
@Entity({ name: 'certificates' })
export class CertificateEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ type: 'text' }) name!: string;
  @Column({ type: 'text' }) kind!: CertificateKind;
  @Column({ name: 'current_version', type: 'integer' }) currentVersion!: number;
  /** The secret each new version is published to (JSON with the chain and key), or null. */
  @Column({ name: 'secret_path', type: 'text', nullable: true }) secretPath!: string | null;
  /** Issued certificates: the CA, and what each renewal issues again. */
  @Column({ name: 'authority_id', type: 'uuid', nullable: true }) authorityId!: string | null;
  @Column({ name: 'common_name', type: 'text', nullable: true }) commonName!: string | null;
  @Column({ name: 'dns_names', type: 'text', array: true, nullable: true }) dnsNames!: string[] | null;
  @Column({ name: 'ip_addresses', type: 'text', array: true, nullable: true }) ipAddresses!: string[] | null;
  @Column({ name: 'lifetime_seconds', type: 'integer', nullable: true }) lifetimeSeconds!: number | null;
  @Column({ name: 'key_type', type: 'text', nullable: true }) keyType!: IssuedKeyType | null;
  /** When the worker renews it (two thirds into the current version's lifetime); also its claim. */
  @Column({ name: 'renew_at', type: 'timestamptz', nullable: true }) renewAt!: Date | null;
  @Column({ name: 'renewal_failures', type: 'integer' }) renewalFailures!: number;
  @Column({ name: 'last_renewal_error', type: 'text', nullable: true }) lastRenewalError!: string | null;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
  /** Soft delete: hidden, not renewed, every private key destroyed; the name is free again. */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true }) deletedAt!: Date | null;
}

/** One immutable version: the public chain and what was parsed from it, and the encrypted key. */
@Entity({ name: 'certificate_versions' })
export class CertificateVersionEntity {
  @PrimaryColumn({ type: 'uuid' }) id!: string;
  @Column({ name: 'certificate_id', type: 'uuid' }) certificateId!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'text' }) source!: CertificateVersionSource;
  /** The chain, leaf first, re-encoded from DER (nothing but certificates). Public. */
  @Column({ name: 'chain_pem', type: 'text' }) chainPem!: string;
  @Column({ name: 'chain_length', type: 'integer' }) chainLength!: number;
  @Column({ type: 'text' }) subject!: string;
  @Column({ type: 'text' }) issuer!: string;
  @Column({ name: 'serial_number', type: 'text' }) serialNumber!: string;
  @Column({ type: 'text' }) fingerprint256!: string;
  @Column({ name: 'subject_alt_names', type: 'jsonb' }) subjectAltNames!: SubjectAltName[];
  @Column({ name: 'key_type', type: 'text' }) keyType!: string;
  @Column({ name: 'not_before', type: 'timestamptz' }) notBefore!: Date;
  @Column({ name: 'not_after', type: 'timestamptz' }) notAfter!: Date;
  /** Never selected by default: only publishing reads it. NULL once destroyed. */
  @Column({ name: 'private_key', type: 'bytea', nullable: true, select: false }) privateKey!: Buffer | null;
  @Column({ name: 'kek_version', type: 'integer', nullable: true }) kekVersion!: number | null;
  @Column({ name: 'destroyed_at', type: 'timestamptz', nullable: true }) destroyedAt!: Date | null;
  /** Expiry alert thresholds (days before) already sent or covered for this version. */
  @Column({ name: 'alerted_days', type: 'integer', array: true }) alertedDays!: number[];
  @Column({ name: 'publish_claimed_at', type: 'timestamptz', nullable: true }) publishClaimedAt!: Date | null;
  /** The secret version this certificate version was published as, once it was. */
  @Column({ name: 'published_secret_version', type: 'integer', nullable: true }) publishedSecretVersion!: number | null;
  @Column({ name: 'created_by', type: 'jsonb' }) createdBy!: AuditActor;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

/** An environment's expiry alert thresholds; an environment without a row uses the defaults. */
@Entity({ name: 'certificate_settings' })
export class CertificateSettingsEntity {
  @PrimaryColumn({ name: 'environment_id', type: 'uuid' }) environmentId!: string;
  @Column({ name: 'project_id', type: 'uuid' }) projectId!: string;
  @Column({ name: 'alert_days_before', type: 'integer', array: true }) alertDaysBefore!: number[];
  @Column({ name: 'updated_by', type: 'jsonb' }) updatedBy!: AuditActor;
  @Column({ name: 'updated_at', type: 'timestamptz' }) updatedAt!: Date;
}
