import { createPrivateKey } from 'node:crypto';
import type { AuditActor } from '@flagstream/audit';
import { DecryptionError, kekVersionOf, type EnvelopeCipher, type EnvelopeIdentity } from '@flagstream/crypto';
import { ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError, ValidationError } from '@flagstream/errors';
import type { ProjectEntity, PublicSigningJwk, Repositories, SigningAlgorithm, SigningKeyEntity, SigningKeyStatus, Store } from '@flagstream/persistence';
import type { ChangeWriter } from './change-writer';
import { mustProject } from './lookup';
import { generateSigningKey, signCompactJws } from './signing-key.crypto';
import {
  earlyActivationProblem,
  earlyRetirementProblem,
  overlapSeconds,
  SIGNING_KEY_SETTINGS_DEFAULTS,
  signingKeyActions,
  signingKeySettingsProblems,
  type SigningKeyAction,
  type SigningKeySettings,
  type SigningKeyState,
} from './signing-key.lifecycle';
import { actorOf, ROLE_RANK, SCHEDULER, type WriteContext } from './write-context';

/** What the AAD of a private key's ciphertext names as its purpose (libs/crypto). */
const PURPOSE = 'signing-key';
/** Claims of a signed token are at most this much JSON. */
export const MAX_TOKEN_CLAIMS_BYTES = 16 * 1024;

/** A signing key as the admin API shows it: public half and lifecycle, never private key material. */
export interface SigningKeyView {
  kid: string;
  algorithm: SigningAlgorithm;
  status: SigningKeyStatus;
  publicJwk: PublicSigningJwk;
  /** The KEK version wrapping its private key; null once retired. */
  kekVersion: number | null;
  /** True once retired: the encrypted private key is gone from the database. */
  privateKeyDestroyed: boolean;
  createdBy: AuditActor;
  createdAt: string;
  activatedAt: string | null;
  deactivatedAt: string | null;
  retireAfter: string | null;
  retiredAt: string | null;
}

/** The project's settings with the overlap window they imply. */
export interface SigningKeySettingsView extends SigningKeySettings {
  project: string;
  /** tokenLifetimeSeconds + jwksCacheSeconds: how long a key stays published after it stops signing. */
  overlapSeconds: number;
  /** Null while the project uses the defaults. */
  updatedAt: string | null;
  updatedBy: AuditActor | null;
}

/** After an activation (or rotation): the key that signs now, and the one it replaced. */
export interface SigningKeyActivationView {
  current: SigningKeyView;
  previous: SigningKeyView | null;
}

/** The public JWKS of a project (RFC 7517 §5) and how long verifiers may cache it. */
export interface PublishedJwks {
  project: string;
  /** current first, then next, then previous keys (newest first). */
  keys: PublicSigningJwk[];
  cacheSeconds: number;
}

export interface SignOptions {
  /** Lifetime of the token, 1 to the project's `tokenLifetimeSeconds` (the default). */
  expiresInSeconds?: number;
}

/** What one scheduled pass did, per project key and kid; failures carry a message, never key material. */
export interface SigningKeyRotationReport {
  projects: number;
  generated: Array<{ project: string; kid: string }>;
  activated: Array<{ project: string; kid: string }>;
  retired: Array<{ project: string; kid: string }>;
  failures: Array<{ project: string; action: SigningKeyAction['type']; kid: string | null; error: string }>;
}

/**
 * Per-project signing keys (Ed25519, ES256) with a published JWKS and a `next` -> `current` ->
 * `previous` -> `retired` lifecycle (docs/secrets.md#signing-keys-and-jwks). Private keys are
 * encrypted with the envelope cipher before they reach a transaction, decrypted only to sign, and
 * destroyed on retirement; views, errors and audit records carry kids and statuses, never key
 * material. Every write needs the owner role (a signing key vouches for whatever it signs).
 */
export class SigningKeys {
  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
    private readonly cipher: EnvelopeCipher | null,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Every key of the project, retired ones included, newest first. */
  async list(projectKey: string): Promise<SigningKeyView[]> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    return (await r.signingKeys.list(project.id)).map(keyView);
  }

  async settings(projectKey: string): Promise<SigningKeySettingsView> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    return settingsView(project, await r.signingKeys.settings(project.id));
  }

  /** Replaces the settings (validated: bounds, and a rotation interval at least the overlap window). */
  async updateSettings(w: WriteContext, projectKey: string, input: SigningKeySettings): Promise<SigningKeySettingsView> {
    assertOwner(w);
    const next: SigningKeySettings = { tokenLifetimeSeconds: input.tokenLifetimeSeconds, jwksCacheSeconds: input.jwksCacheSeconds, rotationIntervalDays: input.rotationIntervalDays ?? null };
    const problems = signingKeySettingsProblems(next);
    if (problems.length) throw new ValidationError('signing key settings are not valid', problems);
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const row = await tx.signingKeys.settings(project.id);
      const before = settingsOf(row);
      if (row && sameSettings(before, next)) return { result: settingsView(project, row), audit: null };
      const saved = await tx.signingKeys.saveSettings({ projectId: project.id, ...next, updatedBy: actorOf(w.principal) });
      return {
        result: settingsView(project, saved),
        audit: { action: 'signing_key_settings.updated', target: { type: 'signing-key-settings', key: project.key }, project: project.key, before, after: next },
      };
    });
  }

  /** A new key pair, published as `next` (at most one per project). */
  async generate(w: WriteContext, projectKey: string, algorithm: SigningAlgorithm): Promise<SigningKeyView> {
    assertOwner(w);
    const cipher = this.mustCipher();
    const at = this.clock();
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const key = await this.generateIn(tx, cipher, w, project, algorithm, at);
      return { result: keyView(key), audit: audit('signing_key.generated', project, key.kid, { algorithm, status: 'next' }) };
    });
  }

  /**
   * `next` -> `current`; the old current key becomes `previous`, published until now plus the
   * overlap window. Refused (409) while the key has been published for less than
   * `jwksCacheSeconds`, unless `force`: verifiers holding an older JWKS would not know it yet.
   */
  async activate(w: WriteContext, projectKey: string, kid: string, options: { force?: boolean } = {}): Promise<SigningKeyActivationView> {
    assertOwner(w);
    const at = this.clock();
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const key = await mustKey(tx, project, kid);
      const settings = settingsOf(await tx.signingKeys.settings(project.id));
      assertStatus(key, 'next', 'activate');
      const early = earlyActivationProblem(key, settings, at);
      if (early && !options.force) throw new ConflictError(early);
      const result = await this.activateIn(tx, project, key, settings, at);
      return { result, audit: audit('signing_key.activated', project, kid, { status: 'current', previous: previousOf(result), ...(early ? { forced: true } : {}) }) };
    });
  }

  /**
   * Retires a `previous` key (refused with 409 before its `retireAfter` unless `force`) or a `next`
   * one (it never signed): it leaves the JWKS and its private key is destroyed.
   */
  async retire(w: WriteContext, projectKey: string, kid: string, options: { force?: boolean } = {}): Promise<SigningKeyView> {
    assertOwner(w);
    const at = this.clock();
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const key = await mustKey(tx, project, kid);
      if (key.status === 'current') throw new ConflictError(`signing key "${kid}" is the current key of project "${project.key}": rotate or activate another key first`);
      if (key.status === 'retired') throw new ConflictError(`signing key "${kid}" is retired already`);
      const early = key.status === 'previous' ? earlyRetirementProblem(key, at) : null;
      if (early && !options.force) throw new ConflictError(early);
      const from = key.status;
      const retired = await this.retireIn(tx, key, at);
      return { result: keyView(retired), audit: audit('signing_key.retired', project, kid, { status: 'retired', from, privateKeyDestroyed: true, ...(early ? { forced: true } : {}) }) };
    });
  }

  /**
   * Generate and activate in one call (one audit record): the emergency switch, so the new key
   * signs at once even though verifiers may hold a JWKS without it for up to `jwksCacheSeconds`.
   * Refused (409) while a `next` key exists: activate or retire that one instead.
   */
  async rotate(w: WriteContext, projectKey: string, algorithm?: SigningAlgorithm): Promise<SigningKeyActivationView> {
    assertOwner(w);
    const cipher = this.mustCipher();
    const at = this.clock();
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const keys = await tx.signingKeys.published(project.id);
      const alg = algorithm ?? keys.find((k) => k.status === 'current')?.algorithm ?? 'EdDSA';
      const settings = settingsOf(await tx.signingKeys.settings(project.id));
      const key = await this.generateIn(tx, cipher, w, project, alg, at);
      const result = await this.activateIn(tx, project, key, settings, at);
      return { result, audit: audit('signing_key.rotated', project, key.kid, { algorithm: alg, status: 'current', previous: previousOf(result) }) };
    });
  }

  /**
   * A compact JWT signed with the project's current key: header `{alg, kid, typ: "JWT"}`, the
   * given claims plus `iat` and `exp` (set here, so refused in `claims`). The lifetime is capped
   * at `tokenLifetimeSeconds`, which is what the overlap window of retired keys is built on.
   */
  async sign(projectKey: string, claims: Record<string, unknown>, options: SignOptions = {}): Promise<string> {
    const cipher = this.mustCipher();
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const settings = settingsOf(await r.signingKeys.settings(project.id));
    const lifetime = options.expiresInSeconds ?? settings.tokenLifetimeSeconds;
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > settings.tokenLifetimeSeconds) {
      throw new ValidationError('token is not valid', [{ path: 'expiresInSeconds', message: `must be an integer from 1 to ${settings.tokenLifetimeSeconds} (tokenLifetimeSeconds of project "${project.key}")` }]);
    }
    checkClaims(claims);
    const current = (await r.signingKeys.published(project.id)).find((k) => k.status === 'current');
    if (!current) throw new ConflictError(`project "${project.key}" has no current signing key: generate one and activate it, or rotate`);
    const stored = await r.signingKeys.privateKeyOf(current.id);
    if (!stored?.ciphertext) throw new Error(`the private key of signing key ${current.kid} is missing`);
    const der = await decryptOrThrow(cipher, stored.ciphertext, identity(project, current.kid));
    let privateKey;
    try {
      privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
    const iat = Math.floor(this.clock().getTime() / 1000);
    const payload = Buffer.from(JSON.stringify({ ...claims, iat, exp: iat + lifetime }), 'utf8');
    return signCompactJws({ alg: current.algorithm, kid: current.kid, typ: 'JWT' }, payload, privateKey, current.algorithm);
  }

  /** The project's published JWKS (see `readPublishedJwks`). */
  jwks(projectKey: string): Promise<PublishedJwks> {
    return readPublishedJwks(this.store.read, projectKey);
  }

  /**
   * One scheduled pass over every project with published keys (the worker's repeating job): what
   * `signingKeyActions` finds due at `now`, each step in its own audited write by the scheduler,
   * re-judged inside its transaction so that a repeat or a concurrent pass does nothing twice. One
   * project's failure does not stop the pass; it is in the report.
   */
  async runDueSigningKeyRotations(now: Date, requestId: string | null = null): Promise<SigningKeyRotationReport> {
    const report: SigningKeyRotationReport = { projects: 0, generated: [], activated: [], retired: [], failures: [] };
    const r = this.store.read;
    for (const projectId of await r.signingKeys.projectsWithPublishedKeys()) {
      const project = await r.projects.findById(projectId);
      if (!project) continue;
      report.projects++;
      const settings = settingsOf(await r.signingKeys.settings(project.id));
      const actions = signingKeyActions((await r.signingKeys.published(project.id)).map(stateOf), settings, now);
      for (const action of actions) {
        try {
          const kid = await this.applyScheduled(project.key, action, now, requestId);
          if (kid) report[action.type === 'generate' ? 'generated' : action.type === 'activate' ? 'activated' : 'retired'].push({ project: project.key, kid });
        } catch (e) {
          report.failures.push({ project: project.key, action: action.type, kid: action.type === 'generate' ? null : action.kid, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
    return report;
  }

  /** Applies one scheduled step if it is still due in a fresh view of the project; the kid it touched, or null. */
  private async applyScheduled(projectKey: string, action: SigningKeyAction, now: Date, requestId: string | null): Promise<string | null> {
    const w: WriteContext = { principal: SCHEDULER, requestId, reason: `scheduled signing key rotation: ${action.reason}` };
    const cipher = action.type === 'generate' ? this.mustCipher() : null;
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const keys = await tx.signingKeys.published(project.id);
      const settings = settingsOf(await tx.signingKeys.settings(project.id));
      const due = signingKeyActions(keys.map(stateOf), settings, now).find((a) => a.type === action.type && (a.type === 'generate' || (action.type !== 'generate' && a.kid === action.kid)));
      if (!due) return { result: null, audit: null };
      switch (due.type) {
        case 'generate': {
          const key = await this.generateIn(tx, cipher!, w, project, due.algorithm, now);
          return { result: key.kid, audit: audit('signing_key.generated', project, key.kid, { algorithm: due.algorithm, status: 'next', scheduled: true }) };
        }
        case 'activate': {
          const result = await this.activateIn(tx, project, keys.find((k) => k.kid === due.kid)!, settings, now);
          return { result: due.kid, audit: audit('signing_key.activated', project, due.kid, { status: 'current', previous: previousOf(result), scheduled: true }) };
        }
        case 'retire': {
          const key = keys.find((k) => k.kid === due.kid)!;
          await this.retireIn(tx, key, now);
          return { result: due.kid, audit: audit('signing_key.retired', project, due.kid, { status: 'retired', from: key.status, privateKeyDestroyed: true, scheduled: true }) };
        }
      }
    });
  }

  private async generateIn(tx: Repositories, cipher: EnvelopeCipher, w: WriteContext, project: ProjectEntity, algorithm: SigningAlgorithm, at: Date): Promise<SigningKeyEntity> {
    const next = (await tx.signingKeys.published(project.id)).find((k) => k.status === 'next');
    if (next) throw new ConflictError(`project "${project.key}" has a next signing key already ("${next.kid}"): activate it or retire it first`);
    const generated = generateSigningKey(algorithm);
    try {
      const privateKey = await cipher.encrypt(generated.pkcs8, identity(project, generated.kid));
      return await tx.signingKeys.insert({
        projectId: project.id,
        kid: generated.kid,
        algorithm,
        publicJwk: generated.publicJwk,
        privateKey,
        kekVersion: kekVersionOf(privateKey),
        createdBy: actorOf(w.principal),
        createdAt: at,
      });
    } finally {
      generated.pkcs8.fill(0);
    }
  }

  private async activateIn(tx: Repositories, project: ProjectEntity, key: SigningKeyEntity, settings: SigningKeySettings, at: Date): Promise<SigningKeyActivationView> {
    const current = (await tx.signingKeys.published(project.id)).find((k) => k.status === 'current');
    if (current && !(await tx.signingKeys.deactivate(current.id, at, new Date(at.getTime() + overlapSeconds(settings) * 1000)))) {
      throw new ConflictError(`signing key "${current.kid}" stopped being current meanwhile; try again`);
    }
    if (!(await tx.signingKeys.activate(key.id, at))) throw new ConflictError(`signing key "${key.kid}" is not next any more; try again`);
    const previous = current ? await tx.signingKeys.findByKid(project.id, current.kid) : null;
    return { current: keyView((await tx.signingKeys.findByKid(project.id, key.kid))!), previous: previous ? keyView(previous) : null };
  }

  private async retireIn(tx: Repositories, key: SigningKeyEntity, at: Date): Promise<SigningKeyEntity> {
    if (!(await tx.signingKeys.retire(key.id, at))) throw new ConflictError(`signing key "${key.kid}" changed meanwhile; try again`);
    return (await tx.signingKeys.findByKid(key.projectId, key.kid))!;
  }

  private mustCipher(): EnvelopeCipher {
    if (!this.cipher) throw new ServiceUnavailableError('signing keys are not available: this process has no key-encryption key (FLAGSTREAM_KEK)');
    return this.cipher;
  }
}

/**
 * The public JWKS of a project: its `next`, `current` and `previous` keys (retired ones are gone),
 * read with public columns only, so a process without the KEK (the gateway) can serve it.
 */
export async function readPublishedJwks(r: Repositories, projectKey: string): Promise<PublishedJwks> {
  const project = await mustProject(r, projectKey);
  const keys = await r.signingKeys.published(project.id);
  const settings = settingsOf(await r.signingKeys.settings(project.id));
  const rank: Record<SigningKeyStatus, number> = { current: 0, next: 1, previous: 2, retired: 3 };
  const ordered = [...keys].sort((a, b) => rank[a.status] - rank[b.status] || b.createdAt.getTime() - a.createdAt.getTime());
  return { project: project.key, keys: ordered.map((k) => publicJwk(k)), cacheSeconds: settings.jwksCacheSeconds };
}

/** What binds a private key's ciphertext to its row: project id (not key), no environment, kid, version 1. */
function identity(project: ProjectEntity, kid: string): EnvelopeIdentity {
  return { purpose: PURPOSE, project: project.id, environment: null, path: kid, version: 1 };
}

async function decryptOrThrow(cipher: EnvelopeCipher, ciphertext: Buffer, id: EnvelopeIdentity): Promise<Buffer> {
  try {
    return await cipher.decrypt(ciphertext, id);
  } catch (e) {
    // Tampering, a retired or missing KEK version: the server's problem, never the caller's input.
    if (e instanceof DecryptionError) throw new Error(`signing key ${id.path} cannot be decrypted (${e.reason})`);
    throw e;
  }
}

function assertOwner(w: WriteContext): void {
  if (ROLE_RANK[w.principal.role] < ROLE_RANK.owner) throw new ForbiddenError('signing keys need the owner role');
}

async function mustKey(r: Repositories, project: ProjectEntity, kid: string): Promise<SigningKeyEntity> {
  const key = await r.signingKeys.findByKid(project.id, kid);
  if (!key) throw new NotFoundError(`signing key "${kid}" does not exist in project "${project.key}"`);
  return key;
}

function assertStatus(key: SigningKeyEntity, expected: 'next', verb: 'activate'): void {
  if (key.status === expected) return;
  const why: Record<Exclude<SigningKeyStatus, 'next'>, string> = {
    current: 'is the current key already',
    previous: 'was current before; a previous key never signs again (generate a new one)',
    retired: 'is retired (its private key is destroyed)',
  };
  throw new ConflictError(`cannot ${verb} signing key "${key.kid}": it ${why[key.status as Exclude<SigningKeyStatus, 'next'>]}`);
}

function checkClaims(claims: unknown): void {
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new ValidationError('token is not valid', [{ path: 'claims', message: 'must be a JSON object' }]);
  const reserved = ['iat', 'exp'].filter((c) => c in claims);
  if (reserved.length) throw new ValidationError('token is not valid', reserved.map((c) => ({ path: `claims.${c}`, message: 'is set by the signer (iat: now; exp: from expiresInSeconds)' })));
  if (Buffer.byteLength(JSON.stringify(claims), 'utf8') > MAX_TOKEN_CLAIMS_BYTES) throw new ValidationError('token is not valid', [{ path: 'claims', message: `must be at most ${MAX_TOKEN_CLAIMS_BYTES} bytes of JSON` }]);
}

function settingsOf(row: SigningKeySettings | null): SigningKeySettings {
  return row ? { tokenLifetimeSeconds: row.tokenLifetimeSeconds, jwksCacheSeconds: row.jwksCacheSeconds, rotationIntervalDays: row.rotationIntervalDays } : { ...SIGNING_KEY_SETTINGS_DEFAULTS };
}

function sameSettings(a: SigningKeySettings, b: SigningKeySettings): boolean {
  return a.tokenLifetimeSeconds === b.tokenLifetimeSeconds && a.jwksCacheSeconds === b.jwksCacheSeconds && a.rotationIntervalDays === b.rotationIntervalDays;
}

function settingsView(project: ProjectEntity, row: (SigningKeySettings & { updatedAt: Date; updatedBy: AuditActor }) | null): SigningKeySettingsView {
  const s = settingsOf(row);
  return { project: project.key, ...s, overlapSeconds: overlapSeconds(s), updatedAt: row?.updatedAt.toISOString() ?? null, updatedBy: row?.updatedBy ?? null };
}

function stateOf(k: SigningKeyEntity): SigningKeyState {
  return { kid: k.kid, algorithm: k.algorithm, status: k.status, createdAt: k.createdAt, activatedAt: k.activatedAt, retireAfter: k.retireAfter };
}

/** The stored JWK in a fixed member order (jsonb does not keep one). */
function publicJwk(k: SigningKeyEntity): PublicSigningJwk {
  const j = k.publicJwk;
  return j.kty === 'EC' ? { kty: j.kty, crv: j.crv, x: j.x, y: j.y, kid: k.kid, use: 'sig', alg: k.algorithm } : { kty: j.kty, crv: j.crv, x: j.x, kid: k.kid, use: 'sig', alg: k.algorithm };
}

function keyView(k: SigningKeyEntity): SigningKeyView {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return {
    kid: k.kid,
    algorithm: k.algorithm,
    status: k.status,
    publicJwk: publicJwk(k),
    kekVersion: k.kekVersion,
    privateKeyDestroyed: k.status === 'retired',
    createdBy: k.createdBy,
    createdAt: k.createdAt.toISOString(),
    activatedAt: iso(k.activatedAt),
    deactivatedAt: iso(k.deactivatedAt),
    retireAfter: iso(k.retireAfter),
    retiredAt: iso(k.retiredAt),
  };
}

function previousOf(v: SigningKeyActivationView): { kid: string; status: 'previous'; retireAfter: string | null } | null {
  return v.previous ? { kid: v.previous.kid, status: 'previous', retireAfter: v.previous.retireAfter } : null;
}

/** An audit record of a signing key: its kid and lifecycle, never key material. */
function audit(action: string, project: ProjectEntity, kid: string, after: Record<string, unknown>) {
  return { action, target: { type: 'signing-key', key: kid }, project: project.key, after: { kid, ...after } };
}
