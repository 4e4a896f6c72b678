import type { AuditActor } from '@flagstream/audit';
import { DecryptionError, kekVersionOf, type EnvelopeCipher, type EnvelopeIdentity } from '@flagstream/crypto';
import { descendantsOf, type EnvironmentNode } from '@flagstream/config';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError } from '@flagstream/errors';
import {
  chainOf,
  environmentNodes,
  type EnvironmentEntity,
  type ProjectEntity,
  type Repositories,
  type SecretEntity,
  type SecretPolicyEntity,
  type Store,
} from '@flagstream/persistence';
import { SDK_SECRETS_VERSION, type SdkSecretsV1 } from '@flagstream/protocol';
import type { ChangeWriter, EnvironmentChanges } from './change-writer';
import { mustEnvironment, mustProject } from './lookup';
import { policyProblems, readDecision, secretPathProblem, type SecretPolicyRule, type SecretReader, type SecretSubject } from './secret-policy';
import { actorOf, ROLE_RANK, SCHEDULER, type WriteContext } from './write-context';

/** A value is at most 64 KiB of UTF-8 (keys, passwords, certificates, small JSON documents). */
export const MAX_SECRET_BYTES = 64 * 1024;
/** What the AAD of a secret's ciphertext names as its purpose (libs/crypto). */
const PURPOSE = 'secret';

/** One version as listed: never its value. */
export interface SecretVersionView {
  version: number;
  createdAt: string;
  createdBy: AuditActor;
  reason: string | null;
  /** The KEK version its data key is wrapped with; null once destroyed. */
  kekVersion: number | null;
  destroyed: boolean;
  destroyedAt: string | null;
}

/** A secret as the API shows it: where it is defined, its versions, never a value. */
export interface SecretView {
  path: string;
  /** The environment asked about. */
  environment: string;
  /** Where the secret is defined: the environment itself, or an ancestor it inherits from. */
  definedIn: string;
  inherited: boolean;
  currentVersion: number;
  deleted: boolean;
  deletedAt: string | null;
  createdBy: AuditActor;
  createdAt: string;
  updatedAt: string;
  versions: SecretVersionView[];
}

export type SecretSummary = Omit<SecretView, 'versions' | 'deleted' | 'deletedAt'>;

/** A revealed value: the one place a plaintext leaves this class. */
export interface RevealedSecret {
  path: string;
  environment: string;
  definedIn: string;
  version: number;
  value: string;
}

export interface SecretPolicyInput {
  subject: SecretSubject;
  paths: string[];
  environments: string[] | '*';
  description?: string | null;
}

export interface SecretPolicyView extends SecretPolicyInput {
  id: string;
  project: string;
  createdBy: AuditActor;
  createdAt: string;
}

/**
 * Secrets per project and environment, inheriting down the environment chain like configuration.
 * Values are encrypted before they reach a transaction (envelope encryption, libs/crypto) and
 * decrypted only by `reveal`, after the read policy allowed it (deny by default); every reveal is
 * audited with who, which path and version, never the value. Versions are immutable; destroy drops
 * a version's ciphertext for good.
 */
export class Secrets {
  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
    private readonly cipher: EnvelopeCipher | null,
  ) {}

  /** The secrets an environment sees (its own and inherited), by path; optionally under a prefix. */
  async list(projectKey: string, envKey: string, prefix?: string): Promise<SecretSummary[]> {
    const r = this.store.read;
    const { project, env, chain, byKey } = await this.scope(r, projectKey, envKey);
    const rows = await r.secrets.listLive(chain.map((k) => byKey.get(k)!.id), prefix);
    const nearest = new Map<string, SecretEntity>();
    const rank = new Map(chain.map((k, i) => [byKey.get(k)!.id, i]));
    for (const s of rows) {
      const seen = nearest.get(s.path);
      if (!seen || rank.get(s.environmentId)! < rank.get(seen.environmentId)!) nearest.set(s.path, s);
    }
    return [...nearest.values()].sort((a, b) => (a.path < b.path ? -1 : 1)).map((s) => summary(s, env, envKeyOf(byKey, s.environmentId), project));
  }

  /** One secret as the environment sees it (its own, else inherited), with its versions. */
  async get(projectKey: string, envKey: string, path: string): Promise<SecretView> {
    checkPath(path);
    const r = this.store.read;
    const scope = await this.scope(r, projectKey, envKey);
    const s = await this.resolve(r, scope, path, true);
    return this.view(r, s, scope.env, envKeyOf(scope.byKey, s.environmentId));
  }

  /** Writes a new version in this environment (the first creates the secret). */
  async put(w: WriteContext, projectKey: string, envKey: string, path: string, value: string): Promise<SecretView> {
    checkPath(path);
    checkValue(value);
    const cipher = this.mustCipher();
    return this.changes.write(w, async (tx) => {
      const scope = await this.scope(tx, projectKey, envKey);
      const { project, env } = scope;
      assertMayChange(w, env);
      const existing = await tx.secrets.findByPath(env.id, path, true);
      if (existing?.deletedAt) throw new ConflictError(`secret "${path}" in environment "${env.key}" is deleted; restore it first`);
      const version = (existing?.currentVersion ?? 0) + 1;
      const ciphertext = await cipher.encrypt(value, identity(project, env, path, version));
      const secret = existing
        ? await tx.secrets.save(Object.assign(existing, { currentVersion: version }))
        : await tx.secrets.insert({ projectId: project.id, environmentId: env.id, path, currentVersion: version, createdBy: actorOf(w.principal) });
      await tx.secrets.insertVersion({ secretId: secret.id, version, ciphertext, kekVersion: kekVersionOf(ciphertext), createdBy: actorOf(w.principal), reason: w.reason });
      const view = await this.view(tx, secret, env, env.key);
      return { result: view, audit: audit(existing ? 'secret.version_created' : 'secret.created', project, env, path, { version, kekVersion: kekVersionOf(ciphertext) }), ...changed(scope, path) };
    });
  }

  /**
   * The value of a version (default: the current one) for a reader the policy allows, audited as
   * `secret.revealed`. Refused reads are audited too (`secret.reveal_denied`), then answered 403.
   */
  async reveal(w: WriteContext, reader: SecretReader, projectKey: string, envKey: string, path: string, version?: number): Promise<RevealedSecret> {
    checkPath(path);
    const cipher = this.mustCipher();
    const denied: { error?: DomainError } = {};
    const out = await this.changes.write(w, async (tx) => {
      const scope = await this.scope(tx, projectKey, envKey);
      const { project, env } = scope;
      const decision = readDecision(await this.policyRules(tx, project), reader, env.key, path);
      if (!decision.allowed) {
        denied.error = new ForbiddenError(`no secret policy lets this ${reader.type === 'token' ? `${reader.role} token` : 'SDK key'} read "${path}" in environment "${env.key}"`);
        return { result: null, audit: audit('secret.reveal_denied', project, env, path, {}) };
      }
      const s = await this.resolve(tx, scope, path, false);
      const v = version ?? s.currentVersion;
      const stored = await tx.secrets.ciphertextOf(s.id, v);
      if (!stored) throw new NotFoundError(`secret "${path}" has no version ${v}`);
      if (!stored.ciphertext) throw new ConflictError(`version ${v} of secret "${path}" was destroyed`);
      const definedIn = envKeyOf(scope.byKey, s.environmentId);
      const plain = await decryptOrThrow(cipher, stored.ciphertext, identity(project, scope.byKey.get(definedIn)!, path, v));
      try {
        const value = plain.toString('utf8');
        return { result: { path, environment: env.key, definedIn, version: v, value }, audit: audit('secret.revealed', project, env, path, { version: v, definedIn, policy: decision.policy }) };
      } finally {
        plain.fill(0);
      }
    });
    if (denied.error) throw denied.error;
    return out!;
  }

  /**
   * What a server SDK key reads (`GET /sdk/v1/secrets`): the current value of every secret its
   * environment sees that a policy lets this key read, audited as one `secret.revealed` record
   * naming the key and each path and version (nothing is audited when nothing is readable).
   * Client keys are refused; a revoked or unknown key is the caller's 401 before this.
   */
  async readForSdkKey(keyId: string, requestId: string | null): Promise<SdkSecretsV1> {
    const cipher = this.mustCipher();
    const key = await this.store.read.credentials.findSdkKeyById(keyId);
    if (!key || key.revokedAt) throw new NotFoundError(`SDK key ${keyId} does not exist`);
    if (key.kind !== 'server') throw new ForbiddenError('client SDK keys can never read secrets');
    const env = await this.store.read.environments.findById(key.environmentId);
    const project = env ? await this.store.read.projects.findById(env.projectId) : null;
    if (!env || !project) throw new NotFoundError(`the environment of SDK key ${keyId} does not exist`);
    const actor: AuditActor = { type: 'sdk-key', id: key.id, name: key.name };
    const w: WriteContext = { principal: { tokenId: `sdk-key:${key.id}`, name: key.name, role: 'viewer', projectId: project.id, projectKey: project.key }, requestId, reason: null, actor };
    return this.changes.write(w, async (tx) => {
      const scope = await this.scope(tx, project.key, env.key);
      const rules = await this.policyRules(tx, project);
      const reader: SecretReader = { type: 'sdk-key', id: key.id, kind: 'server' };
      const rank = new Map(scope.chain.map((k, i) => [scope.byKey.get(k)!.id, i]));
      const nearest = new Map<string, SecretEntity>();
      for (const s of await tx.secrets.listLive(scope.chain.map((k) => scope.byKey.get(k)!.id))) {
        const seen = nearest.get(s.path);
        if (!seen || rank.get(s.environmentId)! < rank.get(seen.environmentId)!) nearest.set(s.path, s);
      }
      const out: SdkSecretsV1 = { v: SDK_SECRETS_VERSION, environment: env.key, secrets: {} };
      const read: Array<{ path: string; version: number; definedIn: string; policy: string }> = [];
      for (const s of [...nearest.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
        const decision = readDecision(rules, reader, env.key, s.path);
        if (!decision.allowed) continue;
        const stored = await tx.secrets.ciphertextOf(s.id, s.currentVersion);
        // A destroyed current version has no value to serve: the SDK sees the secret as absent.
        if (!stored?.ciphertext) continue;
        const definedIn = envKeyOf(scope.byKey, s.environmentId);
        const plain = await decryptOrThrow(cipher, stored.ciphertext, identity(project, scope.byKey.get(definedIn)!, s.path, s.currentVersion));
        try {
          out.secrets[s.path] = { version: s.currentVersion, value: plain.toString('utf8'), definedIn };
        } finally {
          plain.fill(0);
        }
        read.push({ path: s.path, version: s.currentVersion, definedIn, policy: decision.policy });
        // Within a rotation's grace period the replaced value is served too.
        const rotation = await tx.secrets.rotationPolicy(s.id);
        if (rotation?.previousVersion && rotation.graceUntil && rotation.graceUntil.getTime() > Date.now()) {
          const old = await tx.secrets.ciphertextOf(s.id, rotation.previousVersion);
          if (old?.ciphertext) {
            const prev = await decryptOrThrow(cipher, old.ciphertext, identity(project, scope.byKey.get(definedIn)!, s.path, rotation.previousVersion));
            try {
              out.secrets[s.path].previous = { version: rotation.previousVersion, value: prev.toString('utf8'), until: rotation.graceUntil.toISOString() };
            } finally {
              prev.fill(0);
            }
            read.push({ path: s.path, version: rotation.previousVersion, definedIn, policy: decision.policy });
          }
        }
      }
      const record = read.length ? { action: 'secret.revealed', target: { type: 'sdk-key', key: key.id }, project: project.key, environment: env.key, after: { reads: read } } : null;
      return { result: out, audit: record };
    });
  }

  /**
   * The current value of a secret for Flagstream itself (the webhook rotator's signing secret),
   * without a policy check: audited as `secret.revealed` by the scheduler. Never for callers.
   */
  async readInternal(projectKey: string, envKey: string, path: string, ownOnly = false): Promise<string> {
    checkPath(path);
    const cipher = this.mustCipher();
    const w: WriteContext = { principal: SCHEDULER, requestId: null, reason: 'used by Flagstream (rotation)' };
    return this.changes.write(w, async (tx) => {
      const scope = await this.scope(tx, projectKey, envKey);
      const s = ownOnly ? await mustOwn(tx, scope.env, path) : await this.resolve(tx, scope, path, false);
      if (s.deletedAt) throw new NotFoundError(`secret "${path}" is deleted`);
      const stored = await tx.secrets.ciphertextOf(s.id, s.currentVersion);
      if (!stored?.ciphertext) throw new ConflictError(`the current version of secret "${path}" was destroyed`);
      const definedIn = envKeyOf(scope.byKey, s.environmentId);
      const plain = await decryptOrThrow(cipher, stored.ciphertext, identity(scope.project, scope.byKey.get(definedIn)!, path, s.currentVersion));
      try {
        return { result: plain.toString('utf8'), audit: audit('secret.revealed', scope.project, scope.env, path, { version: s.currentVersion, definedIn, internal: true }) };
      } finally {
        plain.fill(0);
      }
    });
  }

  /** A new version holding the value of an older one (re-encrypted; the value never leaves the service). */
  async rollback(w: WriteContext, projectKey: string, envKey: string, path: string, toVersion: number): Promise<SecretView> {
    checkPath(path);
    const cipher = this.mustCipher();
    return this.changes.write(w, async (tx) => {
      const scope = await this.scope(tx, projectKey, envKey);
      const { project, env } = scope;
      assertMayChange(w, env);
      const s = await mustOwn(tx, env, path);
      if (s.deletedAt) throw new ConflictError(`secret "${path}" in environment "${env.key}" is deleted; restore it first`);
      const stored = await tx.secrets.ciphertextOf(s.id, toVersion);
      if (!stored) throw new NotFoundError(`secret "${path}" has no version ${toVersion}`);
      if (!stored.ciphertext) throw new ConflictError(`version ${toVersion} of secret "${path}" was destroyed; it cannot be restored`);
      const plain = await decryptOrThrow(cipher, stored.ciphertext, identity(project, env, path, toVersion));
      const version = s.currentVersion + 1;
      try {
        const ciphertext = await cipher.encrypt(plain, identity(project, env, path, version));
        await tx.secrets.save(Object.assign(s, { currentVersion: version }));
        await tx.secrets.insertVersion({ secretId: s.id, version, ciphertext, kekVersion: kekVersionOf(ciphertext), createdBy: actorOf(w.principal), reason: w.reason ?? `rollback to version ${toVersion}` });
      } finally {
        plain.fill(0);
      }
      return { result: await this.view(tx, s, env, env.key), audit: audit('secret.rolled_back', project, env, path, { version, from: toVersion }), ...changed(scope, path) };
    });
  }

  /** Soft delete: hidden from reads and inheritance, versions kept; `restore` brings it back. */
  async remove(w: WriteContext, projectKey: string, envKey: string, path: string): Promise<SecretView> {
    return this.setDeleted(w, projectKey, envKey, path, true);
  }

  async restore(w: WriteContext, projectKey: string, envKey: string, path: string): Promise<SecretView> {
    return this.setDeleted(w, projectKey, envKey, path, false);
  }

  /** Drops one version's value for good (owner only). The current version can be destroyed too: reads of it then fail. */
  async destroy(w: WriteContext, projectKey: string, envKey: string, path: string, version: number): Promise<SecretView> {
    checkPath(path);
    if (ROLE_RANK[w.principal.role] < ROLE_RANK.owner) throw new ForbiddenError('destroying a secret version needs the owner role');
    return this.changes.write(w, async (tx) => {
      const scope = await this.scope(tx, projectKey, envKey);
      const { project, env } = scope;
      const s = await mustOwn(tx, env, path);
      const stored = await tx.secrets.ciphertextOf(s.id, version);
      if (!stored) throw new NotFoundError(`secret "${path}" has no version ${version}`);
      if (!(await tx.secrets.destroyVersion(s.id, version))) throw new ConflictError(`version ${version} of secret "${path}" is destroyed already`);
      return { result: await this.view(tx, s, env, env.key), audit: audit('secret.version_destroyed', project, env, path, { version }), ...changed(scope, path) };
    });
  }

  async listPolicies(projectKey: string): Promise<SecretPolicyView[]> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    return (await r.secrets.policies(project.id)).map((p) => policyView(p, project));
  }

  /** Adds a read grant (owner only: a grant is a way to read). */
  async createPolicy(w: WriteContext, projectKey: string, input: SecretPolicyInput): Promise<SecretPolicyView> {
    if (ROLE_RANK[w.principal.role] < ROLE_RANK.owner) throw new ForbiddenError('secret policies need the owner role');
    const details = policyProblems(input);
    if (details.length) throw new ValidationError('secret policy is not valid', details);
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      if (input.environments !== '*') {
        const known = new Set((await tx.environments.listAll(project.id)).map((e) => e.key));
        const unknown = input.environments.map((e, i) => ({ e, i })).filter(({ e }) => !known.has(e));
        if (unknown.length) throw new ValidationError('secret policy is not valid', unknown.map(({ e, i }) => ({ path: `environments.${i}`, message: `project "${project.key}" has no environment "${e}"` })));
      }
      if (input.subject.type === 'sdk-key') {
        const key = await tx.credentials.findSdkKeyById(input.subject.id);
        const env = key ? await tx.environments.findById(key.environmentId) : null;
        if (!key || !env || env.projectId !== project.id) throw new ValidationError('secret policy is not valid', [{ path: 'subject.id', message: `project "${project.key}" has no SDK key ${input.subject.id}` }]);
        if (key.kind !== 'server') throw new ValidationError('secret policy is not valid', [{ path: 'subject.id', message: 'client SDK keys can never read secrets; grant a server key' }]);
      }
      const row = await tx.secrets.insertPolicy({
        projectId: project.id,
        subjectType: input.subject.type,
        subject: input.subject.type === 'role' ? input.subject.role : input.subject.id,
        paths: input.paths,
        environments: input.environments,
        description: input.description ?? null,
        createdBy: actorOf(w.principal),
      });
      const view = policyView(row, project);
      return { result: view, audit: { action: 'secret_policy.created', target: { type: 'secret-policy', key: row.id }, project: project.key, after: view } };
    });
  }

  async deletePolicy(w: WriteContext, projectKey: string, id: string): Promise<void> {
    if (ROLE_RANK[w.principal.role] < ROLE_RANK.owner) throw new ForbiddenError('secret policies need the owner role');
    await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const row = await tx.secrets.findPolicy(project.id, id);
      if (!row) throw new NotFoundError(`secret policy ${id} does not exist in project "${project.key}"`);
      await tx.secrets.deletePolicy(id);
      return { result: undefined, audit: { action: 'secret_policy.deleted', target: { type: 'secret-policy', key: id }, project: project.key, before: policyView(row, project) } };
    });
  }

  private async setDeleted(w: WriteContext, projectKey: string, envKey: string, path: string, deleted: boolean): Promise<SecretView> {
    checkPath(path);
    return this.changes.write(w, async (tx) => {
      const scope = await this.scope(tx, projectKey, envKey);
      const { project, env } = scope;
      assertMayChange(w, env);
      const s = await mustOwn(tx, env, path);
      if (Boolean(s.deletedAt) === deleted) throw new ConflictError(`secret "${path}" in environment "${env.key}" is ${deleted ? 'deleted already' : 'not deleted'}`);
      await tx.secrets.save(Object.assign(s, { deletedAt: deleted ? new Date() : null }));
      return { result: await this.view(tx, s, env, env.key), audit: audit(deleted ? 'secret.deleted' : 'secret.restored', project, env, path, { version: s.currentVersion }), ...changed(scope, path) };
    });
  }

  private async scope(r: Repositories, projectKey: string, envKey: string) {
    const project = await mustProject(r, projectKey);
    const env = await mustEnvironment(r, project, envKey);
    const all = await r.environments.listAll(project.id);
    const byKey = new Map(all.map((e) => [e.key, e]));
    // Nearest first: the environment itself, then its parent, up to the root.
    const nodes = environmentNodes(all);
    const chain = chainOf(env.key, nodes).reverse();
    return { project, env, chain, byKey, nodes };
  }

  /** The nearest live definition along the chain (or the environment's own, deleted one when `withDeleted`). */
  private async resolve(r: Repositories, scope: Awaited<ReturnType<Secrets['scope']>>, path: string, withDeleted: boolean): Promise<SecretEntity> {
    for (const key of scope.chain) {
      const s = await r.secrets.findByPath(scope.byKey.get(key)!.id, path);
      if (s && (!s.deletedAt || (withDeleted && key === scope.env.key))) return s;
    }
    throw new NotFoundError(`secret "${path}" does not exist in environment "${scope.env.key}" or the environments it inherits from`);
  }

  private async policyRules(r: Repositories, project: ProjectEntity): Promise<SecretPolicyRule[]> {
    return policyRulesOf(await r.secrets.policies(project.id));
  }

  private async view(r: Repositories, s: SecretEntity, env: EnvironmentEntity, definedIn: string): Promise<SecretView> {
    const versions = await r.secrets.versions(s.id);
    return {
      path: s.path,
      environment: env.key,
      definedIn,
      inherited: definedIn !== env.key,
      currentVersion: s.currentVersion,
      deleted: s.deletedAt !== null,
      deletedAt: s.deletedAt?.toISOString() ?? null,
      createdBy: s.createdBy,
      createdAt: s.createdAt.toISOString(),
      updatedAt: s.updatedAt.toISOString(),
      versions: versions.map((v) => ({
        version: v.version,
        createdAt: v.createdAt.toISOString(),
        createdBy: v.createdBy,
        reason: v.reason,
        kekVersion: v.kekVersion,
        destroyed: v.destroyedAt !== null,
        destroyedAt: v.destroyedAt?.toISOString() ?? null,
      })),
    };
  }

  private mustCipher(): EnvelopeCipher {
    if (!this.cipher) throw new ConflictError('secrets are not available: this server has no key-encryption key (FLAGSTREAM_KEK)');
    return this.cipher;
  }
}

/**
 * The stream notice of a change to a secret: to the environment and every environment that
 * inherits from it (they see the secret too). A path, never a value.
 */
function changed(scope: { project: ProjectEntity; env: EnvironmentEntity; byKey: ReadonlyMap<string, EnvironmentEntity>; nodes: EnvironmentNode[] }, path: string): { project: string; environments: EnvironmentChanges[] } {
  const environments = descendantsOf(scope.env.key, scope.nodes).map((key) => ({ environment: scope.byKey.get(key)!, changes: [{ type: 'secret.changed' as const, path }] }));
  return { project: scope.project.key, environments };
}

/** Stored policies as the read decision takes them. */
export function policyRulesOf(rows: readonly SecretPolicyEntity[]): SecretPolicyRule[] {
  return rows.map((p) => ({
    id: p.id,
    subject: p.subjectType === 'role' ? { type: 'role', role: p.subject as 'viewer' | 'editor' | 'owner' } : { type: 'sdk-key', id: p.subject },
    paths: p.paths,
    environments: p.environments,
  }));
}

/** What binds a ciphertext to its row: ids, not keys (keys could be reused after a delete). */
function identity(project: ProjectEntity, env: EnvironmentEntity, path: string, version: number): EnvelopeIdentity {
  return { purpose: PURPOSE, project: project.id, environment: env.id, path, version };
}

async function decryptOrThrow(cipher: EnvelopeCipher, ciphertext: Buffer, id: EnvelopeIdentity): Promise<Buffer> {
  try {
    return await cipher.decrypt(ciphertext, id);
  } catch (e) {
    // Tampering, a retired or missing KEK version: the server's problem, never the caller's input.
    if (e instanceof DecryptionError) throw new Error(`secret ${id.path} version ${id.version} cannot be decrypted (${e.reason})`);
    throw e;
  }
}

function checkPath(path: string): void {
  const problem = secretPathProblem(path);
  if (problem) throw new ValidationError('secret path is not valid', [{ path: 'path', message: problem }]);
}

function checkValue(value: unknown): void {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError('secret value is not valid', [{ path: 'value', message: 'must be a non-empty string' }]);
  if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) throw new ValidationError('secret value is not valid', [{ path: 'value', message: `must be at most ${MAX_SECRET_BYTES} bytes of UTF-8` }]);
}

async function mustOwn(tx: Repositories, env: EnvironmentEntity, path: string): Promise<SecretEntity> {
  const s = await tx.secrets.findByPath(env.id, path, true);
  if (!s) throw new NotFoundError(`secret "${path}" is not defined in environment "${env.key}" itself`);
  return s;
}

function assertMayChange(w: WriteContext, env: EnvironmentEntity): void {
  if (env.protected && ROLE_RANK[w.principal.role] < ROLE_RANK.owner) throw new ForbiddenError(`environment "${env.key}" is protected: changing its secrets needs the owner role`);
}

function envKeyOf(byKey: ReadonlyMap<string, EnvironmentEntity>, id: string): string {
  for (const [k, e] of byKey) if (e.id === id) return k;
  return `#${id}`;
}

function summary(s: SecretEntity, env: EnvironmentEntity, definedIn: string, _project: ProjectEntity): SecretSummary {
  return { path: s.path, environment: env.key, definedIn, inherited: definedIn !== env.key, currentVersion: s.currentVersion, createdBy: s.createdBy, createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString() };
}

/** An audit record of a secret: the path and version numbers, never a value. */
function audit(action: string, project: ProjectEntity, env: EnvironmentEntity, path: string, after: Record<string, unknown>) {
  return { action, target: { type: 'secret', key: path }, project: project.key, environment: env.key, after: { path, ...after } };
}

function policyView(p: SecretPolicyEntity, project: ProjectEntity): SecretPolicyView {
  return {
    id: p.id,
    project: project.key,
    subject: p.subjectType === 'role' ? { type: 'role', role: p.subject as 'viewer' | 'editor' | 'owner' } : { type: 'sdk-key', id: p.subject },
    paths: p.paths,
    environments: p.environments,
    description: p.description,
    createdBy: p.createdBy,
    createdAt: p.createdAt.toISOString(),
  };
}
