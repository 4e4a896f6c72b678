import { randomBytes } from 'node:crypto';
import type { AuditActor } from '@flagstream/audit';
import { ForbiddenError, NotFoundError, ValidationError, type ErrorDetail } from '@flagstream/errors';
import type { EnvironmentEntity, ProjectEntity, Repositories, SecretEntity, SecretRotationPolicyEntity, SecretRotator, Store } from '@flagstream/persistence';
import type { ChangeWriter } from './change-writer';
import { mustEnvironment, mustProject } from './lookup';
import { readDecision, secretPathProblem } from './secret-policy';
import { policyRulesOf, type Secrets } from './secrets';
import { actorOf, ROLE_RANK, SCHEDULER, type WriteContext } from './write-context';

/** A rotation policy as given. */
export interface RotationPolicyInput {
  /** Seconds between rotations (at least 60). */
  intervalSeconds: number;
  /** Send a "rotation due" alert this long before (0: none). */
  notifyBeforeSeconds?: number;
  /** How long the previous value is still served beside the new one (0: not at all). */
  graceSeconds?: number;
  rotator: SecretRotator;
  /**
   * random-token: `{ bytes?: 16..256 (32), encoding?: 'base64url' | 'hex', prefix?: string }`.
   * webhook: `{ url: 'https://…', signingSecretPath: '<a secret path in the same environment>' }`.
   */
  config?: Record<string, unknown>;
}

export type RotationStatus = 'ok' | 'due-soon' | 'overdue' | 'failing';

export interface RotationPolicyView {
  path: string;
  environment: string;
  intervalSeconds: number;
  notifyBeforeSeconds: number;
  graceSeconds: number;
  rotator: SecretRotator;
  config: Record<string, unknown>;
  nextRotationAt: string;
  lastRotatedAt: string | null;
  previousVersion: number | null;
  graceUntil: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  status: RotationStatus;
  createdBy: AuditActor;
}

/** What a rotator is asked for: the secret it mints a new value of. */
export interface RotationRequest {
  project: string;
  environment: string;
  path: string;
  currentVersion: number;
  config: Record<string, unknown>;
  /** Reads another secret of the same environment (the webhook rotator's signing secret). */
  readSecret(path: string): Promise<string>;
}

/** Mints a new value; throws to fail this attempt (retried with backoff). */
export type RotatorFn = (req: RotationRequest) => Promise<string>;

/** What one worker pass did. */
export interface RotationPassReport {
  rotated: Array<{ path: string; environment: string; project: string; version: number }>;
  failed: Array<{ path: string; environment: string; project: string; failures: number; error: string; alert: boolean }>;
  notices: Array<{ path: string; environment: string; project: string; dueAt: string }>;
}

export const MIN_ROTATION_INTERVAL_SECONDS = 60;
export const MAX_ROTATION_INTERVAL_SECONDS = 5 * 366 * 24 * 3600;
/** A failed attempt is tried again after 1, 2, 4… minutes, never later than the interval. */
const RETRY_BASE_MS = 60_000;
/** How long a claimed rotation is held before another pass may take it again. */
const ROTATION_LEASE_MS = 10 * 60_000;
/** Consecutive failures that raise an alert (then every further 10). */
export const ROTATION_ALERT_AFTER = 3;

/** Problems of a policy (pure), with their paths. */
export function rotationPolicyProblems(input: RotationPolicyInput): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const int = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (!int(input.intervalSeconds, MIN_ROTATION_INTERVAL_SECONDS, MAX_ROTATION_INTERVAL_SECONDS)) out.push({ path: 'intervalSeconds', message: `a whole number of seconds from ${MIN_ROTATION_INTERVAL_SECONDS} to ${MAX_ROTATION_INTERVAL_SECONDS}` });
  if (input.notifyBeforeSeconds !== undefined && !int(input.notifyBeforeSeconds, 0, MAX_ROTATION_INTERVAL_SECONDS)) out.push({ path: 'notifyBeforeSeconds', message: 'a whole number of seconds, at least 0' });
  if (input.graceSeconds !== undefined && !int(input.graceSeconds, 0, MAX_ROTATION_INTERVAL_SECONDS)) out.push({ path: 'graceSeconds', message: 'a whole number of seconds, at least 0' });
  if (typeof input.intervalSeconds === 'number' && typeof input.graceSeconds === 'number' && input.graceSeconds >= input.intervalSeconds) out.push({ path: 'graceSeconds', message: 'must be shorter than the interval (two old values would be served at once)' });
  const c = input.config ?? {};
  if (input.rotator === 'random-token') {
    const known = new Set(['bytes', 'encoding', 'prefix']);
    for (const k of Object.keys(c)) if (!known.has(k)) out.push({ path: `config.${k}`, message: 'unknown setting of the random-token rotator (bytes, encoding, prefix)' });
    if (c.bytes !== undefined && !int(c.bytes, 16, 256)) out.push({ path: 'config.bytes', message: 'a whole number from 16 to 256' });
    if (c.encoding !== undefined && c.encoding !== 'base64url' && c.encoding !== 'hex') out.push({ path: 'config.encoding', message: 'one of "base64url", "hex"' });
    if (c.prefix !== undefined && (typeof c.prefix !== 'string' || !/^[A-Za-z0-9_-]{0,32}$/.test(c.prefix))) out.push({ path: 'config.prefix', message: 'up to 32 of A-Z, a-z, 0-9, "_", "-"' });
  } else if (input.rotator === 'webhook') {
    const known = new Set(['url', 'signingSecretPath']);
    for (const k of Object.keys(c)) if (!known.has(k)) out.push({ path: `config.${k}`, message: 'unknown setting of the webhook rotator (url, signingSecretPath)' });
    if (typeof c.url !== 'string' || !isHttpUrl(c.url)) out.push({ path: 'config.url', message: 'an http(s) URL without user or password' });
    const pathProblem = secretPathProblem(c.signingSecretPath);
    if (pathProblem) out.push({ path: 'config.signingSecretPath', message: `the path of the secret that signs the requests: ${pathProblem}` });
  } else {
    out.push({ path: 'rotator', message: 'one of "random-token", "webhook"' });
  }
  return out;
}

/** The built-in rotator: a fresh random token. */
export function randomToken(config: Record<string, unknown>): string {
  const bytes = typeof config.bytes === 'number' ? config.bytes : 32;
  const token = randomBytes(bytes).toString(config.encoding === 'hex' ? 'hex' : 'base64url');
  return `${typeof config.prefix === 'string' ? config.prefix : ''}${token}`;
}

/** Where a policy stands at `now` (pure): failing beats overdue beats due soon. */
export function rotationStatus(p: Pick<SecretRotationPolicyEntity, 'nextRotationAt' | 'notifyBeforeSeconds' | 'consecutiveFailures'>, now: Date): RotationStatus {
  if (p.consecutiveFailures > 0) return 'failing';
  if (p.nextRotationAt.getTime() <= now.getTime()) return 'overdue';
  if (p.notifyBeforeSeconds > 0 && p.nextRotationAt.getTime() - p.notifyBeforeSeconds * 1000 <= now.getTime()) return 'due-soon';
  return 'ok';
}

/** When a failed attempt is tried again (pure): 1, 2, 4… minutes after it, capped at the interval. */
export function retryAt(failures: number, intervalSeconds: number, now: Date): Date {
  const backoff = Math.min(RETRY_BASE_MS * 2 ** Math.min(failures - 1, 20), intervalSeconds * 1000);
  return new Date(now.getTime() + backoff);
}

/**
 * Rotation of secrets: policies per secret, the compliance report, and the worker's pass, which
 * mints a new value with the policy's rotator and writes it as a new version through `Secrets`
 * (audited, streamed as `secret.changed`) as the scheduler. Two workers never rotate the same
 * secret twice for one due time: each claims it by moving `next_rotation_at` on first.
 */
export class SecretRotations {
  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
    private readonly secrets: Secrets,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Sets (or replaces) a secret's policy; the first rotation is one interval from now. */
  async setPolicy(w: WriteContext, projectKey: string, envKey: string, path: string, input: RotationPolicyInput): Promise<RotationPolicyView> {
    const details = [...pathDetails(path), ...rotationPolicyProblems(input)];
    if (details.length) throw new ValidationError('rotation policy is not valid', details);
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const env = await mustEnvironment(tx, project, envKey);
      mayChange(w, env);
      const secret = await tx.secrets.findByPath(env.id, path, true);
      if (!secret || secret.deletedAt) throw new NotFoundError(`secret "${path}" is not defined in environment "${env.key}" itself`);
      if (input.rotator === 'webhook') await this.checkSigningSecret(tx, w, project, env, path, String(input.config?.signingSecretPath));
      const policy = await tx.secrets.upsertRotationPolicy({
        secretId: secret.id,
        intervalSeconds: input.intervalSeconds,
        notifyBeforeSeconds: input.notifyBeforeSeconds ?? 0,
        graceSeconds: input.graceSeconds ?? 0,
        rotator: input.rotator,
        rotatorConfig: input.config ?? {},
        nextRotationAt: new Date(this.now().getTime() + input.intervalSeconds * 1000),
        createdBy: actorOf(w.principal),
      });
      const view = viewOf(policy, secret, env.key, this.now());
      return { result: view, audit: { action: 'secret.rotation_policy_set', target: { type: 'secret', key: path }, project: project.key, environment: env.key, after: view } };
    });
  }

  /**
   * The webhook rotator signs with another secret's value and sends the signature to a URL the
   * caller chose: that secret must be defined in this environment itself, differ from the one
   * rotated, and be readable by the caller under the secret policies (else the rotator would let
   * an editor use a secret they may not read).
   */
  private async checkSigningSecret(tx: Repositories, w: WriteContext, project: ProjectEntity, env: EnvironmentEntity, path: string, signingPath: string): Promise<void> {
    if (signingPath === path) throw new ValidationError('rotation policy is not valid', [{ path: 'config.signingSecretPath', message: 'must be another secret than the one rotated' }]);
    const signing = await tx.secrets.findByPath(env.id, signingPath);
    if (!signing || signing.deletedAt) {
      throw new ValidationError('rotation policy is not valid', [{ path: 'config.signingSecretPath', message: `secret "${signingPath}" is not defined in environment "${env.key}" itself` }]);
    }
    const decision = readDecision(policyRulesOf(await tx.secrets.policies(project.id)), { type: 'token', role: w.principal.role }, env.key, signingPath);
    if (!decision.allowed) throw new ForbiddenError(`no secret policy lets this ${w.principal.role} token read "${signingPath}" in environment "${env.key}": it cannot make the rotator sign with it`);
  }

  async removePolicy(w: WriteContext, projectKey: string, envKey: string, path: string): Promise<void> {
    const details = pathDetails(path);
    if (details.length) throw new ValidationError('secret path is not valid', details);
    await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const env = await mustEnvironment(tx, project, envKey);
      mayChange(w, env);
      const secret = await tx.secrets.findByPath(env.id, path, true);
      if (!secret || !(await tx.secrets.deleteRotationPolicy(secret.id))) throw new NotFoundError(`secret "${path}" in environment "${env.key}" has no rotation policy`);
      return { result: undefined, audit: { action: 'secret.rotation_policy_removed', target: { type: 'secret', key: path }, project: project.key, environment: env.key } };
    });
  }

  /** Makes the next rotation due now: the worker's next pass rotates it. */
  async rotateNow(w: WriteContext, projectKey: string, envKey: string, path: string): Promise<RotationPolicyView> {
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const env = await mustEnvironment(tx, project, envKey);
      mayChange(w, env);
      const secret = await tx.secrets.findByPath(env.id, path, true);
      const policy = secret ? await tx.secrets.rotationPolicy(secret.id, true) : null;
      if (!secret || !policy) throw new NotFoundError(`secret "${path}" in environment "${env.key}" has no rotation policy`);
      policy.nextRotationAt = this.now();
      const saved = await tx.secrets.saveRotationPolicy(policy);
      const view = viewOf(saved, secret, env.key, this.now());
      return { result: view, audit: { action: 'secret.rotation_requested', target: { type: 'secret', key: path }, project: project.key, environment: env.key, after: view } };
    });
  }

  /** The compliance report: every rotation policy of the project with its status, overdue and failing first. */
  async report(projectKey: string): Promise<{ items: RotationPolicyView[]; overdue: number; failing: number }> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const envs = new Map((await r.environments.listAll(project.id)).map((e) => [e.id, e.key]));
    const now = this.now();
    const rank: Record<RotationStatus, number> = { failing: 0, overdue: 1, 'due-soon': 2, ok: 3 };
    const items = (await r.secrets.rotationPolicies(project.id))
      .filter(({ secret }) => !secret.deletedAt)
      .map(({ policy, secret }) => viewOf(policy, secret, envs.get(secret.environmentId) ?? `#${secret.environmentId}`, now))
      .sort((a, b) => rank[a.status] - rank[b.status] || (a.nextRotationAt < b.nextRotationAt ? -1 : 1));
    return { items, overdue: items.filter((i) => i.status === 'overdue').length, failing: items.filter((i) => i.status === 'failing').length };
  }

  /**
   * The worker's pass: each due policy is claimed (moved one interval on), its rotator mints a
   * value, and `Secrets.put` stores it as a new version as the scheduler; a failure puts the next
   * attempt 1, 2, 4… minutes later and counts it (an alert at 3 and every further 10). Policies
   * whose notice time came get one "rotation due" notice per cycle.
   */
  async runDue(rotators: Record<SecretRotator, RotatorFn>, limit = 100): Promise<RotationPassReport> {
    const report: RotationPassReport = { rotated: [], failed: [], notices: [] };
    const now = this.now();
    for (const policy of await this.store.read.secrets.dueRotationPolicies(now, limit)) {
      const secret = await this.store.read.secrets.findSecretById(policy.secretId);
      if (!secret || secret.deletedAt) continue;
      const env = await this.store.read.environments.findById(secret.environmentId);
      const project = env ? await this.store.read.projects.findById(env.projectId) : null;
      if (!env || !project) continue;
      const where = { path: secret.path, environment: env.key, project: project.key };
      if (policy.nextRotationAt.getTime() > now.getTime()) {
        // Only the notice is due: sent once per cycle (the row lock decides between workers).
        await this.store.transaction(async (tx) => {
          const p = await tx.secrets.rotationPolicy(policy.secretId, true);
          if (p && p.nextRotationAt.getTime() === policy.nextRotationAt.getTime() && p.notifiedFor?.getTime() !== p.nextRotationAt.getTime()) {
            p.notifiedFor = p.nextRotationAt;
            await tx.secrets.saveRotationPolicy(p);
            report.notices.push({ ...where, dueAt: p.nextRotationAt.toISOString() });
          }
        });
        continue;
      }
      // Claimed with a short lease: a worker killed mid-rotation leaves it due again soon, not an interval later.
      const lease = new Date(now.getTime() + ROTATION_LEASE_MS);
      if (!(await this.store.read.secrets.claimRotation(policy.secretId, policy.nextRotationAt, lease))) continue;
      try {
        const value = await rotators[policy.rotator]({
          project: project.key,
          environment: env.key,
          path: secret.path,
          currentVersion: secret.currentVersion,
          config: policy.rotatorConfig,
          readSecret: (p) => this.secrets.readInternal(project.key, env.key, p, true),
        });
        const w: WriteContext = { principal: SCHEDULER, requestId: null, reason: `rotation of ${secret.path} (${policy.rotator})` };
        const written = await this.secrets.put(w, project.key, env.key, secret.path, value);
        await this.afterRotation(policy.secretId, secret.currentVersion, written.currentVersion, now);
        report.rotated.push({ ...where, version: written.currentVersion });
      } catch (e) {
        const message = e instanceof Error ? e.message.slice(0, 500) : 'rotation failed';
        const failures = await this.afterFailure(policy.secretId, message, now);
        report.failed.push({ ...where, failures, error: message, alert: failures === ROTATION_ALERT_AFTER || (failures > ROTATION_ALERT_AFTER && (failures - ROTATION_ALERT_AFTER) % 10 === 0) });
      }
    }
    return report;
  }

  private async afterRotation(secretId: string, previous: number, _current: number, now: Date): Promise<void> {
    await this.store.transaction(async (tx) => {
      const p = await tx.secrets.rotationPolicy(secretId, true);
      if (!p) return;
      Object.assign(p, {
        nextRotationAt: new Date(now.getTime() + p.intervalSeconds * 1000),
        lastRotatedAt: now,
        previousVersion: p.graceSeconds > 0 ? previous : null,
        graceUntil: p.graceSeconds > 0 ? new Date(now.getTime() + p.graceSeconds * 1000) : null,
        consecutiveFailures: 0,
        lastError: null,
      });
      await tx.secrets.saveRotationPolicy(p);
    });
  }

  private async afterFailure(secretId: string, message: string, now: Date): Promise<number> {
    return this.store.transaction(async (tx) => {
      const p = await tx.secrets.rotationPolicy(secretId, true);
      if (!p) return 0;
      p.consecutiveFailures += 1;
      p.lastError = message;
      p.nextRotationAt = retryAt(p.consecutiveFailures, p.intervalSeconds, now);
      await tx.secrets.saveRotationPolicy(p);
      return p.consecutiveFailures;
    });
  }
}

function viewOf(p: SecretRotationPolicyEntity, s: SecretEntity, environment: string, now: Date): RotationPolicyView {
  return {
    path: s.path,
    environment,
    intervalSeconds: p.intervalSeconds,
    notifyBeforeSeconds: p.notifyBeforeSeconds,
    graceSeconds: p.graceSeconds,
    rotator: p.rotator,
    config: p.rotatorConfig,
    nextRotationAt: p.nextRotationAt.toISOString(),
    lastRotatedAt: p.lastRotatedAt?.toISOString() ?? null,
    previousVersion: p.graceUntil && p.graceUntil.getTime() > now.getTime() ? p.previousVersion : null,
    graceUntil: p.graceUntil && p.graceUntil.getTime() > now.getTime() ? p.graceUntil.toISOString() : null,
    consecutiveFailures: p.consecutiveFailures,
    lastError: p.lastError,
    status: rotationStatus(p, now),
    createdBy: p.createdBy,
  };
}

function mayChange(w: WriteContext, env: EnvironmentEntity): void {
  if (env.protected && ROLE_RANK[w.principal.role] < ROLE_RANK.owner) throw new ForbiddenError(`environment "${env.key}" is protected: its rotation policies need the owner role`);
}

function pathDetails(path: string): ErrorDetail[] {
  const problem = secretPathProblem(path);
  return problem ? [{ path: 'path', message: problem }] : [];
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
  } catch {
    return false;
  }
}
