import { randomUUID } from 'node:crypto';
import type { AuditActor } from '@flagstream/audit';
import { DecryptionError, kekVersionOf, type EnvelopeCipher, type EnvelopeIdentity } from '@flagstream/crypto';
import { ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError, ValidationError, type ErrorDetail } from '@flagstream/errors';
import type {
  CertificateAuthorityEntity,
  CertificateEntity,
  CertificateKind,
  CertificateVersionEntity,
  CertificateVersionSource,
  EnvironmentEntity,
  IssuedKeyType,
  ProjectEntity,
  Repositories,
  Store,
  SubjectAltName,
} from '@flagstream/persistence';
import type { ChangeWriter } from './change-writer';
import {
  alertSettingsProblems,
  authorityProblems,
  daysLeft,
  DEFAULT_ALERT_DAYS_BEFORE,
  DEFAULT_AUTHORITY_LIFETIME_DAYS,
  DEFAULT_ISSUED_KEY_TYPE,
  dueExpiryAlert,
  issueSpecProblems,
  normalisedAlertDays,
  renewalDueAt,
  renewalRetryAt,
  secretPathDetails,
} from './certificates.rules';
import { createAuthorityCertificate, issueCertificate, pkcs8Pem, validateUpload, type GeneratedCertificate, type IssueSpec, type ParsedCertificate } from './certificates.x509';
import { mustEnvironment, mustProject } from './lookup';
import { secretPathProblem } from './secret-policy';
import { MAX_SECRET_BYTES, type Secrets } from './secrets';
import { actorOf, ROLE_RANK, SCHEDULER, type WriteContext } from './write-context';

/** What the AAD of a certificate's (or the CA's) private key names as its purpose (libs/crypto). */
const PURPOSE = 'certificate-key';
/** A claimed renewal that did not finish (a worker died) is free again after this long. */
const RENEWAL_LEASE_MS = 10 * 60_000;
/** A publication that did not finish is tried again by the worker's pass after this long. */
const PUBLISH_LEASE_MS = 5 * 60_000;
/** The alert type of an expiring certificate (the worker's alert queue). */
export const CERTIFICATE_EXPIRING_ALERT = 'certificate.expiring';

/** One version as listed: what was parsed from its chain, never its private key. */
export interface CertificateVersionView {
  version: number;
  source: CertificateVersionSource;
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprint256: string;
  subjectAltNames: SubjectAltName[];
  keyType: string;
  notBefore: string;
  notAfter: string;
  chainLength: number;
  /** The KEK version wrapping its private key; null once destroyed. */
  kekVersion: number | null;
  privateKeyDestroyed: boolean;
  /** The secret version it was published as (with a `secretPath`), once it was. */
  publishedSecretVersion: number | null;
  /** Expiry alert thresholds (days before) sent for this version. */
  alertedDays: number[];
  createdBy: AuditActor;
  createdAt: string;
  reason: string | null;
}

/** What the CA issues again at each renewal, and where the renewal stands. */
export interface CertificateIssuanceView {
  authority: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  lifetimeSeconds: number;
  keyType: IssuedKeyType;
  /** Two thirds into the current version's lifetime (or the retry after a failure). */
  renewAt: string | null;
  renewalFailures: number;
  lastRenewalError: string | null;
}

/** A certificate as listed: name, kind and its current version's essentials. */
export interface CertificateSummary {
  name: string;
  environment: string;
  kind: CertificateKind;
  currentVersion: number;
  secretPath: string | null;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  renewAt: string | null;
  createdBy: AuditActor;
  createdAt: string;
  updatedAt: string;
}

/** A certificate with its current chain (public), how it is issued, and every version. */
export interface CertificateView extends CertificateSummary {
  deleted: boolean;
  deletedAt: string | null;
  /** The current version's chain, leaf first (PEM; certificates only). */
  certificate: string;
  issuance: CertificateIssuanceView | null;
  versions: CertificateVersionView[];
  /** Set when the write succeeded but publishing to `secretPath` did not (the worker tries again). */
  publishError?: string;
}

/** A CA as the API shows it: its public certificate, never its private key. */
export interface CertificateAuthoritySummary {
  name: string;
  subject: string;
  serialNumber: string;
  fingerprint256: string;
  keyType: 'ECDSA P-256';
  notBefore: string;
  notAfter: string;
  certificate: string;
  kekVersion: number;
  createdBy: AuditActor;
  createdAt: string;
}

/** The project's current (issuing) CA, and the CAs it replaced (they still renew what they issued). */
export interface CertificateAuthorityView extends CertificateAuthoritySummary {
  project: string;
  /** Older CAs, newest first: clients should trust them while certificates they issued live. */
  previous: CertificateAuthoritySummary[];
}

export interface CertificateSettings {
  /** Days before expiry at which an alert goes out, once per threshold and version. */
  alertDaysBefore: number[];
}

export interface CertificateSettingsView extends CertificateSettings {
  project: string;
  environment: string;
  /** Null while the environment uses the defaults. */
  updatedAt: string | null;
  updatedBy: AuditActor | null;
}

export interface UploadCertificateInput {
  /** The PEM chain, leaf first. */
  certificate: unknown;
  /** The leaf's private key, PEM (PKCS#8, PKCS#1 RSA or SEC1 EC). */
  privateKey: unknown;
  allowExpired?: boolean;
  /** Publish every version to this secret path of the environment; null stops; omitted keeps. */
  secretPath?: string | null;
}

export interface IssueCertificateInput {
  commonName: unknown;
  dnsNames?: unknown;
  ipAddresses?: unknown;
  lifetimeSeconds: unknown;
  keyType?: unknown;
  secretPath?: string | null;
}

export interface CreateAuthorityInput {
  name: unknown;
  lifetimeDays?: unknown;
  /** Required when the project has a CA: the new one becomes the issuing CA. */
  replace?: unknown;
}

/** An expiry alert, in the shape of the worker's alert events (docs/operations.md#alert-webhook). */
export interface CertificateExpiryAlert {
  /** Stable per version and threshold: the alert queue's job id and the receiver's idempotency key. */
  id: string;
  type: typeof CERTIFICATE_EXPIRING_ALERT;
  occurredAt: string;
  project: string;
  environment: string;
  summary: string;
  data: {
    name: string;
    version: number;
    kind: CertificateKind;
    subject: string;
    serialNumber: string;
    fingerprint256: string;
    notAfter: string;
    daysBefore: number;
    daysLeft: number;
  };
}

type Where = { project: string; environment: string; name: string };

/** What one pass of the worker did; errors carry messages, never key material. */
export interface CertificatePassReport {
  renewed: Array<Where & { version: number; notAfter: string }>;
  renewalFailures: Array<Where & { failures: number; error: string }>;
  published: Array<Where & { version: number; secretPath: string; secretVersion: number }>;
  publishFailures: Array<Where & { version: number; secretPath: string; error: string }>;
  alerts: CertificateExpiryAlert[];
  /** Why renewals and publications did not run (no KEK on this process), or null. */
  skipped: string | null;
}

/** The version just written, for the publication that follows the commit. */
interface Written {
  certificateId: string;
  versionId: string;
  version: number;
  secretPath: string | null;
}

/**
 * Certificates per project and environment (docs/secrets.md#certificates): uploaded chains with
 * their private keys, and certificates issued and renewed by a project CA. Private keys are
 * encrypted with the envelope cipher (purpose `certificate-key`), never returned, logged or
 * audited; with a `secretPath`, every new version is also written through `Secrets.put` as a
 * JSON secret, which is how server SDKs receive renewals live. Every write needs the owner role.
 */
export class Certificates {
  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
    private readonly cipher: EnvelopeCipher | null,
    private readonly secrets: Pick<Secrets, 'put'>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The live certificates of an environment, by name. */
  async list(projectKey: string, envKey: string): Promise<CertificateSummary[]> {
    const r = this.store.read;
    const { env } = await scope(r, projectKey, envKey);
    const out: CertificateSummary[] = [];
    for (const c of await r.certificates.listLive(env.id)) out.push(summary(c, env, (await r.certificates.version(c.id, c.currentVersion))!));
    return out;
  }

  /** One live certificate: its current chain, issuance and versions (metadata only). */
  async get(projectKey: string, envKey: string, name: string): Promise<CertificateView> {
    checkName(name);
    const r = this.store.read;
    const { env } = await scope(r, projectKey, envKey);
    return this.view(r, await mustCertificate(r, env, name), env);
  }

  /**
   * Stores an uploaded chain and key as a new version (the first creates the certificate):
   * validated (chain order and signatures, key matches the leaf, not expired unless
   * `allowExpired`), the key encrypted in the transaction, then published to `secretPath`.
   */
  async upload(w: WriteContext, projectKey: string, envKey: string, name: string, input: UploadCertificateInput): Promise<CertificateView> {
    assertOwner(w);
    checkName(name);
    const details: ErrorDetail[] = input.secretPath === undefined || input.secretPath === null ? [] : secretPathDetails(input.secretPath);
    const { value, problems } = validateUpload(input, this.clock());
    if (!value || problems.length || details.length) throw new ValidationError('certificate is not valid', [...problems, ...details]);
    try {
      const cipher = this.mustCipher();
      if (input.secretPath && publishedSize(value.chainPem, value.pkcs8) > MAX_SECRET_BYTES) {
        throw new ValidationError('certificate is not valid', [{ path: 'secretPath', message: `the chain and key are too large to publish as one secret (at most ${MAX_SECRET_BYTES} bytes of JSON)` }]);
      }
      const now = this.clock();
      const written = await this.changes.write(w, async (tx) => {
        const { project, env } = await scope(tx, projectKey, envKey);
        const existing = await tx.certificates.findByName(env.id, name, true);
        if (existing?.kind === 'issued') {
          throw new ConflictError(`certificate "${name}" in environment "${env.key}" is issued by the project CA: renew it, or delete it before uploading one at this name`);
        }
        const secretPath = input.secretPath === undefined ? (existing?.secretPath ?? null) : input.secretPath;
        await checkSecretPath(tx, env, secretPath, existing?.id ?? null);
        const id = existing?.id ?? randomUUID();
        const version = (existing?.currentVersion ?? 0) + 1;
        if (!existing) await tx.certificates.insert(newCertificate(id, project, env, name, 'uploaded', secretPath, null, null, w));
        const versionId = await insertVersion(tx, cipher, w, project, env, id, version, 'upload', value, secretPath, now);
        if (existing) await tx.certificates.setCurrent(id, version, secretPath, null);
        const result: Written = { certificateId: id, versionId, version, secretPath };
        return { result, audit: audit('certificate.uploaded', project, env, name, { kind: 'uploaded', ...versionAudit(version, value.chain[0]), secretPath, ...(input.allowExpired ? { allowExpired: true } : {}) }) };
      });
      return await this.afterWrite(w, projectKey, envKey, name, written, value);
    } finally {
      value.pkcs8.fill(0);
    }
  }

  /**
   * Issues a certificate from the project CA at a new name, with a private key generated here.
   * It is renewed (new key, new version) two thirds into its lifetime by the worker's pass.
   */
  async issue(w: WriteContext, projectKey: string, envKey: string, name: string, input: IssueCertificateInput): Promise<CertificateView> {
    assertOwner(w);
    const details = [...nameDetails(name), ...issueSpecProblems(input), ...(input.secretPath === undefined || input.secretPath === null ? [] : secretPathDetails(input.secretPath))];
    if (details.length) throw new ValidationError('certificate request is not valid', details);
    const cipher = this.mustCipher();
    const spec: IssueSpec = {
      commonName: input.commonName as string,
      dnsNames: ((input.dnsNames as string[] | undefined) ?? []).map((d) => d.toLowerCase()),
      ipAddresses: (input.ipAddresses as string[] | undefined) ?? [],
      lifetimeSeconds: input.lifetimeSeconds as number,
      keyType: (input.keyType as IssuedKeyType | undefined) ?? DEFAULT_ISSUED_KEY_TYPE,
    };
    const now = this.clock();
    const r = this.store.read;
    const { env } = await scope(r, projectKey, envKey);
    if (await r.certificates.findByName(env.id, name)) throw exists(name, env);
    const ca = await mustAuthority(r, projectKey);
    const notAfter = new Date(now.getTime() + spec.lifetimeSeconds * 1000);
    if (notAfter.getTime() > ca.notAfter.getTime()) {
      throw new ValidationError('certificate request is not valid', [
        { path: 'lifetimeSeconds', message: `would end after the project CA expires (${ca.notAfter.toISOString()}): at most ${Math.floor((ca.notAfter.getTime() - now.getTime()) / 1000)}` },
      ]);
    }
    const generated = await this.generate(cipher, ca, spec, now, notAfter);
    try {
      const secretPath = input.secretPath ?? null;
      const written = await this.changes.write(w, async (tx) => {
        const { project, env: e } = await scope(tx, projectKey, envKey);
        if (await tx.certificates.findByName(e.id, name, true)) throw exists(name, e);
        await checkSecretPath(tx, e, secretPath, null);
        const id = randomUUID();
        const leaf = generated.chain[0];
        await tx.certificates.insert(newCertificate(id, project, e, name, 'issued', secretPath, { ca, spec }, renewalDueAt(leaf.notBefore, leaf.notAfter), w));
        const versionId = await insertVersion(tx, cipher, w, project, e, id, 1, 'issue', generated, secretPath, now);
        const result: Written = { certificateId: id, versionId, version: 1, secretPath };
        return { result, audit: audit('certificate.issued', project, e, name, { kind: 'issued', ...versionAudit(1, leaf), keyType: spec.keyType, lifetimeSeconds: spec.lifetimeSeconds, secretPath }) };
      });
      return await this.afterWrite(w, projectKey, envKey, name, written, generated);
    } finally {
      generated.pkcs8.fill(0);
    }
  }

  /** Renews an issued certificate now: a new version with a new key, published like any other. */
  async renew(w: WriteContext, projectKey: string, envKey: string, name: string): Promise<CertificateView> {
    assertOwner(w);
    checkName(name);
    const r = this.store.read;
    const { project, env } = await scope(r, projectKey, envKey);
    const cert = await mustCertificate(r, env, name);
    if (cert.kind !== 'issued') throw new ConflictError(`certificate "${name}" in environment "${env.key}" was uploaded: upload a new version to renew it`);
    const outcome = await this.renewIssued(w, project, env, cert, this.clock(), false);
    return outcome!;
  }

  /** Soft delete: gone from lists and renewals, every version's private key destroyed; history kept. */
  async remove(w: WriteContext, projectKey: string, envKey: string, name: string): Promise<CertificateView> {
    assertOwner(w);
    checkName(name);
    const at = this.clock();
    const id = await this.changes.write(w, async (tx) => {
      const { project, env } = await scope(tx, projectKey, envKey);
      const cert = await tx.certificates.findByName(env.id, name, true);
      if (!cert) throw notFound(name, env);
      if (!(await tx.certificates.softDelete(cert.id, at))) throw new ConflictError(`certificate "${name}" in environment "${env.key}" is deleted already`);
      const destroyed = await tx.certificates.destroyKeys(cert.id, at);
      return { result: cert.id, audit: audit('certificate.deleted', project, env, name, { version: cert.currentVersion, privateKeysDestroyed: destroyed, secretPath: cert.secretPath }) };
    });
    const r = this.store.read;
    const { env } = await scope(r, projectKey, envKey);
    return this.view(r, (await r.certificates.findById(id))!, env);
  }

  /** The project's current CA and the ones it replaced (public certificates and metadata). */
  async authority(projectKey: string): Promise<CertificateAuthorityView> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    await mustAuthority(r, projectKey);
    return authorityView(project, await r.certificates.authorities(project.id));
  }

  /**
   * Creates the project's CA: self-signed ECDSA P-256, `CN=<name>`, its private key encrypted. When
   * the project has one, only with `replace: true`: the new CA issues from then on, and the
   * certificates the old one issued keep renewing under it (their chains stay what clients trust).
   */
  async createAuthority(w: WriteContext, projectKey: string, input: CreateAuthorityInput): Promise<CertificateAuthorityView> {
    assertOwner(w);
    const problems = authorityProblems(input);
    if (problems.length) throw new ValidationError('certificate authority is not valid', problems);
    const cipher = this.mustCipher();
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const existing = await r.certificates.authority(project.id);
    if (existing && input.replace !== true) throw authorityExists(project, existing);
    const now = this.clock();
    const generated = await createAuthorityCertificate(input.name as string, (input.lifetimeDays as number | undefined) ?? DEFAULT_AUTHORITY_LIFETIME_DAYS, now);
    try {
      return await this.changes.write(w, async (tx) => {
        const p = await mustProject(tx, projectKey, true);
        const current = await tx.certificates.authority(p.id);
        if (current && input.replace !== true) throw authorityExists(p, current);
        const id = randomUUID();
        const privateKey = await cipher.encrypt(generated.pkcs8, authorityIdentity(p, id));
        const c = generated.chain[0];
        await tx.certificates.insertAuthority({
          id,
          projectId: p.id,
          name: input.name as string,
          certificatePem: generated.chainPem,
          subject: c.subject,
          serialNumber: c.serialNumber,
          fingerprint256: c.fingerprint256,
          notBefore: c.notBefore,
          notAfter: c.notAfter,
          privateKey,
          kekVersion: kekVersionOf(privateKey),
          createdBy: actorOf(w.principal),
        });
        const view = authorityView(p, await tx.certificates.authorities(p.id));
        const replaces = current ? { name: current.name, serialNumber: current.serialNumber, fingerprint256: current.fingerprint256 } : null;
        return {
          result: view,
          audit: {
            action: 'certificate_authority.created',
            target: { type: 'certificate-authority', key: p.key },
            project: p.key,
            after: { name: view.name, subject: view.subject, serialNumber: view.serialNumber, fingerprint256: view.fingerprint256, notAfter: view.notAfter, replaces },
          },
        };
      });
    } finally {
      generated.pkcs8.fill(0);
    }
  }

  async settings(projectKey: string, envKey: string): Promise<CertificateSettingsView> {
    const r = this.store.read;
    const { project, env } = await scope(r, projectKey, envKey);
    return settingsView(project, env, await r.certificates.settings(env.id));
  }

  /** Replaces an environment's alert thresholds (an unchanged document is not audited). */
  async updateSettings(w: WriteContext, projectKey: string, envKey: string, input: { alertDaysBefore: unknown }): Promise<CertificateSettingsView> {
    assertOwner(w);
    const problems = alertSettingsProblems(input);
    if (problems.length) throw new ValidationError('certificate settings are not valid', problems);
    const next = normalisedAlertDays(input.alertDaysBefore as number[]);
    return this.changes.write(w, async (tx) => {
      const { project, env } = await scope(tx, projectKey, envKey);
      const row = await tx.certificates.settings(env.id);
      const before = row ? normalisedAlertDays(row.alertDaysBefore) : [...DEFAULT_ALERT_DAYS_BEFORE];
      if (row && before.join() === next.join()) return { result: settingsView(project, env, row), audit: null };
      const saved = await tx.certificates.saveSettings({ environmentId: env.id, projectId: project.id, alertDaysBefore: next, updatedBy: actorOf(w.principal) });
      return {
        result: settingsView(project, env, saved),
        audit: { action: 'certificate_settings.updated', target: { type: 'certificate-settings', key: env.key }, project: project.key, environment: env.key, before: { alertDaysBefore: before }, after: { alertDaysBefore: next } },
      };
    });
  }

  /**
   * The worker's pass at `now`: renews each issued certificate whose renewal is due (claimed in
   * Postgres first, so two workers renew once; re-checked in its transaction), publishes current
   * versions whose publication did not happen (a crash after the commit), and returns the expiry
   * alerts that came due (each claimed per version and threshold, so it is returned once). Without
   * a KEK only the alerts run. Failures are reported, never thrown.
   */
  async runDue(now: Date, requestId: string | null = null, limit = 100): Promise<CertificatePassReport> {
    const report: CertificatePassReport = { renewed: [], renewalFailures: [], published: [], publishFailures: [], alerts: [], skipped: null };
    const r = this.store.read;
    const keys = new KeyCache(r);
    const w: WriteContext = { principal: SCHEDULER, requestId, reason: 'scheduled certificate renewal' };
    if (this.cipher) {
      for (const cert of await r.certificates.dueRenewals(now, limit)) {
        if (!(await r.certificates.claimRenewal(cert.id, cert.renewAt!, new Date(now.getTime() + RENEWAL_LEASE_MS)))) continue;
        const where = await keys.where(cert.projectId, cert.environmentId, cert.name);
        try {
          const { project, env } = await keys.entities(cert.projectId, cert.environmentId);
          const view = await this.renewIssued(w, project, env, cert, now, true);
          if (view) report.renewed.push({ ...where, version: view.currentVersion, notAfter: view.notAfter });
        } catch (e) {
          const error = messageOf(e);
          const failures = await r.certificates.renewalFailed(cert.id, error, renewalRetryAt(cert.renewalFailures + 1, now));
          report.renewalFailures.push({ ...where, failures, error });
        }
      }
      const claimedBefore = new Date(now.getTime() - PUBLISH_LEASE_MS);
      for (const p of await r.certificates.pendingPublications(claimedBefore, limit)) {
        if (!(await r.certificates.claimPublication(p.versionId, claimedBefore, now))) continue;
        const where = await keys.where(p.projectId, p.environmentId, p.name);
        try {
          const { project, env } = await keys.entities(p.projectId, p.environmentId);
          const stored = await r.certificates.versionKeyOf(p.versionId);
          const version = await r.certificates.version(p.certificateId, p.version);
          if (!stored?.ciphertext || !version) continue;
          const der = await decryptOrThrow(this.cipher, stored.ciphertext, versionIdentity(project, env, p.certificateId, p.version));
          try {
            const secretVersion = await this.publish({ ...w, reason: null }, project.key, env.key, p.name, p.secretPath, p.versionId, p.version, version.chainPem, der, version.notAfter);
            report.published.push({ ...where, version: p.version, secretPath: p.secretPath, secretVersion });
          } finally {
            der.fill(0);
          }
        } catch (e) {
          report.publishFailures.push({ ...where, version: p.version, secretPath: p.secretPath, error: messageOf(e) });
        }
      }
    } else {
      report.skipped = 'certificate renewals and publications do not run: this process has no key-encryption key (FLAGSTREAM_KEK)';
    }
    const thresholds = new Map<string, number[]>();
    for (const c of await r.certificates.alertCandidates()) {
      if (!thresholds.has(c.environmentId)) thresholds.set(c.environmentId, (await r.certificates.settings(c.environmentId))?.alertDaysBefore ?? [...DEFAULT_ALERT_DAYS_BEFORE]);
      const due = dueExpiryAlert({ notAfter: c.notAfter, alertedDays: c.alertedDays, renewAt: c.kind === 'issued' ? c.renewAt : null }, thresholds.get(c.environmentId)!, now);
      if (!due || !(await r.certificates.claimAlert(c.versionId, due.daysBefore, due.covers))) continue;
      const where = await keys.where(c.projectId, c.environmentId, c.name);
      const left = daysLeft(c.notAfter, now);
      const at = c.notAfter.toISOString();
      report.alerts.push({
        id: `certificate-expiring-${c.versionId}-${due.daysBefore}d`,
        type: CERTIFICATE_EXPIRING_ALERT,
        occurredAt: now.toISOString(),
        project: where.project,
        environment: where.environment,
        summary:
          c.notAfter.getTime() <= now.getTime()
            ? `Certificate "${c.name}" in "${where.environment}" (version ${c.version}, ${c.subject}) expired at ${at}`
            : `Certificate "${c.name}" in "${where.environment}" (version ${c.version}, ${c.subject}) expires in ${left} day${left === 1 ? '' : 's'}, at ${at}`,
        data: { name: c.name, version: c.version, kind: c.kind, subject: c.subject, serialNumber: c.serialNumber, fingerprint256: c.fingerprint256, notAfter: at, daysBefore: due.daysBefore, daysLeft: left },
      });
    }
    return report;
  }

  /**
   * A new version of an issued certificate from `now` (capped at the CA's expiry), with a new key.
   * Scheduled: null when the certificate changed since it was read (renewed or deleted meanwhile).
   */
  private async renewIssued(w: WriteContext, project: ProjectEntity, env: EnvironmentEntity, cert: CertificateEntity, now: Date, scheduled: boolean): Promise<CertificateView | null> {
    const cipher = this.mustCipher();
    const ca = await this.store.read.certificates.authorityById(cert.authorityId!);
    if (!ca) throw new Error(`the certificate authority of certificate "${cert.name}" is missing`);
    if (ca.notAfter.getTime() <= now.getTime()) throw new ConflictError(`the project CA expired at ${ca.notAfter.toISOString()}: certificate "${cert.name}" cannot be renewed`);
    const spec: IssueSpec = { commonName: cert.commonName!, dnsNames: cert.dnsNames!, ipAddresses: cert.ipAddresses!, lifetimeSeconds: cert.lifetimeSeconds!, keyType: cert.keyType! };
    const notAfter = new Date(Math.min(now.getTime() + spec.lifetimeSeconds * 1000, ca.notAfter.getTime()));
    const generated = await this.generate(cipher, ca, spec, now, notAfter);
    try {
      const written = await this.changes.write(w, async (tx) => {
        const locked = await tx.certificates.findById(cert.id, true);
        if (!locked || locked.deletedAt || locked.currentVersion !== cert.currentVersion) {
          if (scheduled) return { result: null, audit: null };
          throw new ConflictError(`certificate "${cert.name}" in environment "${env.key}" changed meanwhile; try again`);
        }
        const version = locked.currentVersion + 1;
        const leaf = generated.chain[0];
        const versionId = await insertVersion(tx, cipher, w, project, env, cert.id, version, 'renewal', generated, locked.secretPath, now);
        await tx.certificates.setCurrent(cert.id, version, locked.secretPath, renewalDueAt(leaf.notBefore, leaf.notAfter));
        const result: Written = { certificateId: cert.id, versionId, version, secretPath: locked.secretPath };
        const capped = notAfter.getTime() < now.getTime() + spec.lifetimeSeconds * 1000;
        return { result, audit: audit('certificate.renewed', project, env, cert.name, { kind: 'issued', ...versionAudit(version, leaf), ...(capped ? { cappedAtCaExpiry: true } : {}), ...(scheduled ? { scheduled: true } : {}) }) };
      });
      if (!written) return null;
      return await this.afterWrite(w, project.key, env.key, cert.name, written, generated);
    } finally {
      generated.pkcs8.fill(0);
    }
  }

  /** Decrypts the CA key only to sign, and wipes it. */
  private async generate(cipher: EnvelopeCipher, ca: CertificateAuthorityEntity, spec: IssueSpec, now: Date, notAfter: Date): Promise<GeneratedCertificate> {
    const stored = await this.store.read.certificates.authorityKeyOf(ca.id);
    if (!stored?.ciphertext) throw new Error('the private key of the certificate authority is missing');
    const der = await decryptOrThrow(cipher, stored.ciphertext, authorityIdentity({ id: ca.projectId }, ca.id));
    try {
      return await issueCertificate({ certificatePem: ca.certificatePem, pkcs8: der }, spec, now, notAfter);
    } finally {
      der.fill(0);
    }
  }

  /** After the commit: publishes the new version if the certificate has a secret path, then the view. */
  private async afterWrite(w: WriteContext, projectKey: string, envKey: string, name: string, written: Written, material: { chainPem: string; chain: ParsedCertificate[]; pkcs8: Buffer }): Promise<CertificateView> {
    let publishError: string | undefined;
    if (written.secretPath) {
      try {
        await this.publish(w, projectKey, envKey, name, written.secretPath, written.versionId, written.version, material.chainPem, material.pkcs8, material.chain[0].notAfter);
      } catch (e) {
        publishError = `certificate version ${written.version} is stored, but publishing it to secret "${written.secretPath}" failed (the worker tries again): ${messageOf(e)}`;
      }
    }
    const r = this.store.read;
    const { env } = await scope(r, projectKey, envKey);
    const view = await this.view(r, (await r.certificates.findById(written.certificateId))!, env);
    return publishError ? { ...view, publishError } : view;
  }

  /** Writes `{certificate, privateKey, notAfter, version}` as a new version of the secret, and records it. */
  private async publish(w: WriteContext, projectKey: string, envKey: string, name: string, secretPath: string, versionId: string, version: number, chainPem: string, pkcs8: Buffer, notAfter: Date): Promise<number> {
    const value = JSON.stringify({ certificate: chainPem, privateKey: pkcs8Pem(pkcs8), notAfter: notAfter.toISOString(), version });
    const written = await this.secrets.put({ ...w, reason: `certificate "${name}" version ${version}` }, projectKey, envKey, secretPath, value);
    await this.store.read.certificates.markPublished(versionId, written.currentVersion);
    return written.currentVersion;
  }

  private async view(r: Repositories, c: CertificateEntity, env: EnvironmentEntity): Promise<CertificateView> {
    const versions = await r.certificates.versions(c.id);
    const current = versions.find((v) => v.version === c.currentVersion)!;
    const ca = c.authorityId ? await r.certificates.authorityById(c.authorityId) : null;
    return {
      ...summary(c, env, current),
      deleted: c.deletedAt !== null,
      deletedAt: c.deletedAt?.toISOString() ?? null,
      certificate: current.chainPem,
      issuance:
        c.kind === 'issued'
          ? {
              authority: ca?.name ?? `#${c.authorityId}`,
              commonName: c.commonName!,
              dnsNames: c.dnsNames!,
              ipAddresses: c.ipAddresses!,
              lifetimeSeconds: c.lifetimeSeconds!,
              keyType: c.keyType!,
              renewAt: c.renewAt?.toISOString() ?? null,
              renewalFailures: c.renewalFailures,
              lastRenewalError: c.lastRenewalError,
            }
          : null,
      versions: versions.map(versionView),
    };
  }

  private mustCipher(): EnvelopeCipher {
    if (!this.cipher) throw new ServiceUnavailableError('certificates are not available: this process has no key-encryption key (FLAGSTREAM_KEK)');
    return this.cipher;
  }
}

/** Project and environment keys (and rows) by id, looked up once per pass. */
class KeyCache {
  private readonly projects = new Map<string, ProjectEntity>();
  private readonly envs = new Map<string, EnvironmentEntity>();

  constructor(private readonly r: Repositories) {}

  async entities(projectId: string, environmentId: string): Promise<{ project: ProjectEntity; env: EnvironmentEntity }> {
    if (!this.projects.has(projectId)) {
      const p = await this.r.projects.findById(projectId);
      if (!p) throw new Error(`project ${projectId} is missing`);
      this.projects.set(projectId, p);
    }
    if (!this.envs.has(environmentId)) {
      const e = await this.r.environments.findById(environmentId);
      if (!e) throw new Error(`environment ${environmentId} is missing`);
      this.envs.set(environmentId, e);
    }
    return { project: this.projects.get(projectId)!, env: this.envs.get(environmentId)! };
  }

  async where(projectId: string, environmentId: string, name: string): Promise<Where> {
    const { project, env } = await this.entities(projectId, environmentId);
    return { project: project.key, environment: env.key, name };
  }
}

async function scope(r: Repositories, projectKey: string, envKey: string): Promise<{ project: ProjectEntity; env: EnvironmentEntity }> {
  const project = await mustProject(r, projectKey);
  return { project, env: await mustEnvironment(r, project, envKey) };
}

async function mustCertificate(r: Repositories, env: EnvironmentEntity, name: string): Promise<CertificateEntity> {
  const c = await r.certificates.findByName(env.id, name);
  if (!c) throw notFound(name, env);
  return c;
}

async function mustAuthority(r: Repositories, projectKey: string): Promise<CertificateAuthorityEntity> {
  const project = await mustProject(r, projectKey);
  const ca = await r.certificates.authority(project.id);
  if (!ca) throw new NotFoundError(`project "${project.key}" has no certificate authority: create one first (POST /api/v1/projects/${project.key}/certificate-authority)`);
  return ca;
}

/** A secret path may be published to by one certificate of the environment, and not while the secret is deleted. */
async function checkSecretPath(tx: Repositories, env: EnvironmentEntity, secretPath: string | null, self: string | null): Promise<void> {
  if (!secretPath) return;
  const other = await tx.certificates.findBySecretPath(env.id, secretPath);
  if (other && other.id !== self) {
    throw new ConflictError(`secret "${secretPath}" in environment "${env.key}" is published by certificate "${other.name}" already`, [{ path: 'secretPath', message: `used by certificate "${other.name}"` }]);
  }
  const secret = await tx.secrets.findByPath(env.id, secretPath);
  if (secret?.deletedAt) {
    throw new ConflictError(`secret "${secretPath}" in environment "${env.key}" is deleted: restore it, or publish to another path`, [{ path: 'secretPath', message: 'the secret at this path is deleted' }]);
  }
}

function newCertificate(
  id: string,
  project: ProjectEntity,
  env: EnvironmentEntity,
  name: string,
  kind: CertificateKind,
  secretPath: string | null,
  issued: { ca: CertificateAuthorityEntity; spec: IssueSpec } | null,
  renewAt: Date | null,
  w: WriteContext,
) {
  return {
    id,
    projectId: project.id,
    environmentId: env.id,
    name,
    kind,
    currentVersion: 1,
    secretPath,
    authorityId: issued?.ca.id ?? null,
    commonName: issued?.spec.commonName ?? null,
    dnsNames: issued?.spec.dnsNames ?? null,
    ipAddresses: issued?.spec.ipAddresses ?? null,
    lifetimeSeconds: issued?.spec.lifetimeSeconds ?? null,
    keyType: issued?.spec.keyType ?? null,
    renewAt,
    createdBy: actorOf(w.principal),
  };
}

/** Encrypts the key bound to its row (inside the caller's transaction) and inserts the version; its id. */
async function insertVersion(
  tx: Repositories,
  cipher: EnvelopeCipher,
  w: WriteContext,
  project: ProjectEntity,
  env: EnvironmentEntity,
  certificateId: string,
  version: number,
  source: CertificateVersionSource,
  material: { chainPem: string; chain: ParsedCertificate[]; pkcs8: Buffer },
  secretPath: string | null,
  now: Date,
): Promise<string> {
  const privateKey = await cipher.encrypt(material.pkcs8, versionIdentity(project, env, certificateId, version));
  const leaf = material.chain[0];
  const id = randomUUID();
  await tx.certificates.insertVersion({
    id,
    certificateId,
    version,
    source,
    chainPem: material.chainPem,
    chainLength: material.chain.length,
    subject: leaf.subject,
    issuer: leaf.issuer,
    serialNumber: leaf.serialNumber,
    fingerprint256: leaf.fingerprint256,
    subjectAltNames: leaf.subjectAltNames,
    keyType: leaf.keyType,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    privateKey,
    kekVersion: kekVersionOf(privateKey),
    // The writer publishes right after its commit; the worker's pass takes over only after the lease.
    publishClaimedAt: secretPath ? now : null,
    createdBy: actorOf(w.principal),
    reason: w.reason,
  });
  return id;
}

/** What binds a version's key to its row: project and environment ids, the certificate's id, the version. */
function versionIdentity(project: ProjectEntity, env: EnvironmentEntity, certificateId: string, version: number): EnvelopeIdentity {
  return { purpose: PURPOSE, project: project.id, environment: env.id, path: certificateId, version };
}

/** The CA's key: no environment, the path `ca/<id>` (a certificate always has an environment). */
function authorityIdentity(project: Pick<ProjectEntity, 'id'>, id: string): EnvelopeIdentity {
  return { purpose: PURPOSE, project: project.id, environment: null, path: `ca/${id}`, version: 1 };
}

async function decryptOrThrow(cipher: EnvelopeCipher, ciphertext: Buffer, id: EnvelopeIdentity): Promise<Buffer> {
  try {
    return await cipher.decrypt(ciphertext, id);
  } catch (e) {
    // Tampering, a retired or missing KEK version: the server's problem, never the caller's input.
    if (e instanceof DecryptionError) throw new Error(`a certificate private key (${id.path}) cannot be decrypted (${e.reason})`);
    throw e;
  }
}

/** The size of the published JSON, give or take the escaping of newlines. */
function publishedSize(chainPem: string, pkcs8: Buffer): number {
  const keyPem = Math.ceil(pkcs8.length / 3) * 4 + Math.ceil(pkcs8.length / 48) + 64;
  return Math.ceil(Buffer.byteLength(chainPem, 'utf8') * 1.05) + Math.ceil(keyPem * 1.05) + 200;
}

function assertOwner(w: WriteContext): void {
  if (ROLE_RANK[w.principal.role] < ROLE_RANK.owner) throw new ForbiddenError('certificates need the owner role');
}

function nameDetails(name: unknown): ErrorDetail[] {
  const problem = secretPathProblem(name);
  return problem ? [{ path: 'name', message: `a certificate name is a path like "tls/api": ${problem}` }] : [];
}

function checkName(name: string): void {
  const details = nameDetails(name);
  if (details.length) throw new ValidationError('certificate name is not valid', details);
}

function notFound(name: string, env: EnvironmentEntity): NotFoundError {
  return new NotFoundError(`certificate "${name}" does not exist in environment "${env.key}"`);
}

function exists(name: string, env: EnvironmentEntity): ConflictError {
  return new ConflictError(`certificate "${name}" exists in environment "${env.key}" already: renew it, upload a new version, or delete it first`, [{ path: 'name', message: 'is taken' }]);
}

function authorityExists(project: ProjectEntity, current: CertificateAuthorityEntity): ConflictError {
  return new ConflictError(
    `project "${project.key}" has a certificate authority already ("${current.name}"): pass "replace": true to make a new one the issuing CA (certificates keep renewing under the CA that issued them)`,
    [{ path: 'replace', message: 'must be true to replace the current CA' }],
  );
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : 'failed').slice(0, 500);
}

function summary(c: CertificateEntity, env: EnvironmentEntity, current: CertificateVersionEntity): CertificateSummary {
  return {
    name: c.name,
    environment: env.key,
    kind: c.kind,
    currentVersion: c.currentVersion,
    secretPath: c.secretPath,
    subject: current.subject,
    issuer: current.issuer,
    serialNumber: current.serialNumber,
    notBefore: current.notBefore.toISOString(),
    notAfter: current.notAfter.toISOString(),
    renewAt: c.renewAt?.toISOString() ?? null,
    createdBy: c.createdBy,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

function versionView(v: CertificateVersionEntity): CertificateVersionView {
  return {
    version: v.version,
    source: v.source,
    subject: v.subject,
    issuer: v.issuer,
    serialNumber: v.serialNumber,
    fingerprint256: v.fingerprint256,
    subjectAltNames: v.subjectAltNames,
    keyType: v.keyType,
    notBefore: v.notBefore.toISOString(),
    notAfter: v.notAfter.toISOString(),
    chainLength: v.chainLength,
    kekVersion: v.kekVersion,
    privateKeyDestroyed: v.destroyedAt !== null,
    publishedSecretVersion: v.publishedSecretVersion,
    alertedDays: v.alertedDays,
    createdBy: v.createdBy,
    createdAt: v.createdAt.toISOString(),
    reason: v.reason,
  };
}

function authorityView(project: ProjectEntity, all: CertificateAuthorityEntity[]): CertificateAuthorityView {
  const [current, ...previous] = all;
  return { project: project.key, ...authoritySummary(current), previous: previous.map(authoritySummary) };
}

function authoritySummary(ca: CertificateAuthorityEntity): CertificateAuthoritySummary {
  return {
    name: ca.name,
    subject: ca.subject,
    serialNumber: ca.serialNumber,
    fingerprint256: ca.fingerprint256,
    keyType: 'ECDSA P-256',
    notBefore: ca.notBefore.toISOString(),
    notAfter: ca.notAfter.toISOString(),
    certificate: ca.certificatePem,
    kekVersion: ca.kekVersion,
    createdBy: ca.createdBy,
    createdAt: ca.createdAt.toISOString(),
  };
}

function settingsView(project: ProjectEntity, env: EnvironmentEntity, row: { alertDaysBefore: number[]; updatedAt: Date; updatedBy: AuditActor } | null): CertificateSettingsView {
  return {
    project: project.key,
    environment: env.key,
    alertDaysBefore: row ? normalisedAlertDays(row.alertDaysBefore) : [...DEFAULT_ALERT_DAYS_BEFORE],
    updatedAt: row?.updatedAt.toISOString() ?? null,
    updatedBy: row?.updatedBy ?? null,
  };
}

function versionAudit(version: number, leaf: ParsedCertificate) {
  return { version, subject: leaf.subject, serialNumber: leaf.serialNumber, fingerprint256: leaf.fingerprint256, notAfter: leaf.notAfter.toISOString() };
}

/** An audit record of a certificate: names, serials and fingerprints, never key material. */
function audit(action: string, project: ProjectEntity, env: EnvironmentEntity, name: string, after: Record<string, unknown>) {
  return { action, target: { type: 'certificate', key: name }, project: project.key, environment: env.key, after: { name, ...after } };
}
