import type { AuditActor } from '@flagstream/audit';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError, VersionConflictError, joinPath, type ErrorDetail } from '@flagstream/errors';
import type {
  EnvironmentEntity,
  PageRequest,
  ProjectEntity,
  Repositories,
  ScheduledChangeEntity,
  ScheduledChangeError,
  ScheduledChangeStatus,
  ScheduledChangeTarget,
  Store,
} from '@flagstream/persistence';
import type { ChangeOutcome, ChangeWriter } from './change-writer';
import type { ConfigWrites } from './config-writes';
import type { FlagSettingsInput, FlagWrites } from './flag-writes';
import { mustEnvironment, mustProject } from './lookup';
import type { ScheduledChangeQueuePort, ScheduledChangeRef } from './scheduled-change.queue';
import { assertVersion } from './version';
import { actorOf, ROLE_RANK, SCHEDULER, type WriteContext } from './write-context';

/** What a scheduled change does at its time: one write an admin could make by hand. */
export type ScheduledChangeSpec =
  /** `PUT …/flags/{flag}/environments/{env}`: the whole settings (`version`: only if still at it). */
  | { type: 'flag.settings'; flag: string; settings: FlagSettingsInput }
  /** `POST …/flags/{flag}/environments/{env}/toggle`. */
  | { type: 'flag.toggle'; flag: string; on: boolean }
  /** `PUT …/configs/{key}/environments/{env}` (or `/tenants/{tenant}`). */
  | { type: 'config.set'; config: string; tenant?: string; value: unknown }
  /** `DELETE …/configs/{key}/environments/{env}` (or `/tenants/{tenant}`). */
  | { type: 'config.remove'; config: string; tenant?: string };

export interface ScheduledChangeView {
  id: string;
  project: string;
  environment: string;
  change: ScheduledChangeSpec;
  runAt: string;
  status: ScheduledChangeStatus;
  version: number;
  createdBy: AuditActor;
  reason: string | null;
  appliedAt: string | null;
  /** The environment revision that carried the applied change (null: nothing to change). */
  revision: number | null;
  error: ScheduledChangeError | null;
  createdAt: string;
  updatedAt: string;
}

/** Another pending change of the same target (reported, not refused). */
export interface ScheduleConflict {
  id: string;
  runAt: string;
  change: ScheduledChangeSpec;
}

export type ScheduledChangeWithConflicts = ScheduledChangeView & { conflicts: ScheduleConflict[] };

export interface NewSchedule {
  environment: string;
  runAt: Date;
  change: ScheduledChangeSpec;
  reason: string | null;
}

export interface ScheduleListFilter {
  status?: ScheduledChangeStatus;
  environment?: string;
  flag?: string;
  config?: string;
}

/** What the worker's attempt at a change came to. */
export type ApplyResult =
  | { status: 'applied'; revision: number | null }
  | { status: 'failed'; error: ScheduledChangeError }
  /** Not pending at that version any more (applied, cancelled, rescheduled): nothing to do. */
  | { status: 'skipped'; reason: 'missing' | 'not-pending' | 'other-version' }
  /** The job ran early (clocks differ): run it again at `runAt`. */
  | { status: 'not-due'; runAt: Date };

/** How far ahead a change may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 365 * 24 * 3600 * 1000;
/** A job that fires this much before the change's time still applies it (timer and clock jitter). */
export const EARLY_TOLERANCE_MS = 1000;

export interface ScheduledChangesOptions {
  /** Called when the queue cannot be reached after a commit; the worker's sweep enqueues the change later. */
  onQueueError?: (err: unknown) => void;
  now?: () => Date;
}

/** Refuses a time in the past or more than a year ahead. */
export function checkRunAt(runAt: Date, now: Date): void {
  if (Number.isNaN(runAt.getTime())) throw new ValidationError('runAt is not a valid time', [{ path: 'runAt', message: 'must be an ISO 8601 timestamp with a time zone' }]);
  if (runAt.getTime() <= now.getTime()) throw new ValidationError('runAt must be in the future', [{ path: 'runAt', message: `must be later than ${now.toISOString()}` }]);
  if (runAt.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_MS) {
    throw new ValidationError('runAt must be at most a year ahead', [{ path: 'runAt', message: `must be at most ${new Date(now.getTime() + MAX_SCHEDULE_AHEAD_MS).toISOString()}` }]);
  }
}

/** The audit reason of an applied change: which schedule, who asked for it, and why. */
export function applyReason(row: Pick<ScheduledChangeEntity, 'id' | 'createdBy' | 'reason'>): string {
  return `scheduled change ${row.id} (${row.createdBy.name})${row.reason ? `: ${row.reason}` : ''}`;
}

/** The stored columns of a change. */
export function columnsOf(spec: ScheduledChangeSpec): Pick<ScheduledChangeEntity, 'kind' | 'targetType' | 'targetKey' | 'tenant' | 'payload'> {
  switch (spec.type) {
    case 'flag.settings':
      return { kind: spec.type, targetType: 'flag', targetKey: spec.flag, tenant: null, payload: spec.settings };
    case 'flag.toggle':
      return { kind: spec.type, targetType: 'flag', targetKey: spec.flag, tenant: null, payload: { on: spec.on } };
    case 'config.set':
      return { kind: spec.type, targetType: 'config', targetKey: spec.config, tenant: spec.tenant ?? null, payload: { value: spec.value } };
    case 'config.remove':
      return { kind: spec.type, targetType: 'config', targetKey: spec.config, tenant: spec.tenant ?? null, payload: {} };
  }
}

/** The change a stored row describes. */
export function specOf(row: Pick<ScheduledChangeEntity, 'kind' | 'targetKey' | 'tenant' | 'payload'>): ScheduledChangeSpec {
  const tenant = row.tenant === null ? {} : { tenant: row.tenant };
  switch (row.kind) {
    case 'flag.settings':
      return { type: row.kind, flag: row.targetKey, settings: row.payload as FlagSettingsInput };
    case 'flag.toggle':
      return { type: row.kind, flag: row.targetKey, on: (row.payload as { on: boolean }).on };
    case 'config.set':
      return { type: row.kind, config: row.targetKey, ...tenant, value: (row.payload as { value: unknown }).value };
    case 'config.remove':
      return { type: row.kind, config: row.targetKey, ...tenant };
  }
}

/** Thrown inside a savepoint to roll back a dry run. */
class DryRun extends Error {}

/**
 * Scheduled changes: created, rescheduled and cancelled by people through the admin API (each
 * audited), applied by the worker through the same write path as a manual change, with the
 * scheduler as the actor. Postgres is the record; the queue only wakes the worker up.
 */
export class ScheduledChanges {
  private readonly now: () => Date;

  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
    private readonly flags: FlagWrites,
    private readonly configs: ConfigWrites,
    private readonly queue: ScheduledChangeQueuePort | null,
    private readonly options: ScheduledChangesOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Validates the change now, against the current state and with the caller's rights, exactly as
   * the manual write would (a dry run, rolled back), stores it as pending and enqueues its job.
   */
  async create(w: WriteContext, projectKey: string, input: NewSchedule): Promise<ScheduledChangeWithConflicts> {
    checkRunAt(input.runAt, this.now());
    const out = await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const env = await mustEnvironment(tx, project, input.environment);
      assertMayChange(w, env);
      await this.dryRun(tx, w, project, env, input.change);
      const row = await tx.scheduledChanges.insert({
        projectId: project.id,
        environmentId: env.id,
        ...columnsOf(input.change),
        runAt: input.runAt,
        createdBy: actorOf(w.principal),
        reason: input.reason,
      });
      const result = { ...view(row, project, env), conflicts: await this.conflicts(tx, row) };
      return { result, audit: { action: 'schedule.created', target: { type: 'scheduled-change', key: row.id }, project: project.key, environment: env.key, after: view(row, project, env) } };
    });
    await this.enqueue([{ id: out.id, version: out.version, runAt: new Date(out.runAt) }]);
    return out;
  }

  async list(projectKey: string, page: PageRequest, filter: ScheduleListFilter = {}) {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const envs = await r.environments.listAll(project.id);
    let environmentId: string | undefined;
    if (filter.environment !== undefined) environmentId = (await mustEnvironment(r, project, filter.environment)).id;
    const target = filter.flag !== undefined ? { targetType: 'flag' as const, targetKey: filter.flag } : filter.config !== undefined ? { targetType: 'config' as const, targetKey: filter.config } : {};
    const rows = await r.scheduledChanges.list(project.id, page, { status: filter.status, environmentId, ...target });
    const byId = new Map(envs.map((e) => [e.id, e]));
    return { items: rows.items.map((row) => view(row, project, byId.get(row.environmentId)!)), nextCursor: rows.nextCursor };
  }

  async get(projectKey: string, id: string): Promise<ScheduledChangeView> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const row = await mustSchedule(r, project, id);
    return view(row, project, await environmentOf(r, row));
  }

  /** A new time for a pending change (needs its current version); its job moves with it. */
  async reschedule(w: WriteContext, projectKey: string, id: string, expected: number, runAt: Date): Promise<ScheduledChangeWithConflicts> {
    checkRunAt(runAt, this.now());
    let old = 0;
    const out = await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const row = await mustSchedule(tx, project, id, true);
      const env = await environmentOf(tx, row);
      assertMayChange(w, env);
      assertPending(row, 'rescheduled');
      assertVersion(row.version, expected, `scheduled change ${id}`);
      const before = view(row, project, env);
      old = row.version;
      Object.assign(row, { runAt, version: row.version + 1 });
      const saved = await tx.scheduledChanges.save(row);
      const after = view(saved, project, env);
      return { result: { ...after, conflicts: await this.conflicts(tx, saved) }, audit: { action: 'schedule.rescheduled', target: { type: 'scheduled-change', key: id }, project: project.key, environment: env.key, before, after } };
    });
    await this.dequeue(id, old);
    await this.enqueue([{ id, version: out.version, runAt: new Date(out.runAt) }]);
    return out;
  }

  /** Cancels a pending change (`expected`: only if still at that version); an applied one cannot be. */
  async cancel(w: WriteContext, projectKey: string, id: string, expected: number | undefined): Promise<ScheduledChangeView> {
    let old = 0;
    const out = await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const row = await mustSchedule(tx, project, id, true);
      const env = await environmentOf(tx, row);
      assertMayChange(w, env);
      assertPending(row, 'cancelled');
      if (expected !== undefined) assertVersion(row.version, expected, `scheduled change ${id}`);
      const before = view(row, project, env);
      old = row.version;
      Object.assign(row, { status: 'cancelled', version: row.version + 1 });
      const after = view(await tx.scheduledChanges.save(row), project, env);
      return { result: after, audit: { action: 'schedule.cancelled', target: { type: 'scheduled-change', key: id }, project: project.key, environment: env.key, before, after } };
    });
    await this.dequeue(id, old);
    return out;
  }

  /**
   * Inside the caller's transaction (the kill switch): cancels every pending change of these flags
   * in these environments and returns them. Call `forget` with them after commit.
   */
  async cancelForFlagsIn(tx: Repositories, project: ProjectEntity, environments: readonly EnvironmentEntity[], flagKeys: readonly string[]): Promise<ScheduledChangeView[]> {
    const rows = await tx.scheduledChanges.pendingForFlags(project.id, environments.map((e) => e.id), flagKeys);
    const byId = new Map(environments.map((e) => [e.id, e]));
    const out: ScheduledChangeView[] = [];
    for (const row of rows) {
      Object.assign(row, { status: 'cancelled', version: row.version + 1 });
      out.push(view(await tx.scheduledChanges.save(row), project, byId.get(row.environmentId)!));
    }
    return out;
  }

  /** Removes the jobs of changes cancelled in a transaction that has committed. */
  async forget(cancelled: readonly Pick<ScheduledChangeView, 'id' | 'version'>[]): Promise<void> {
    for (const c of cancelled) await this.dequeue(c.id, c.version - 1);
  }

  /**
   * The worker's job: applies the change if it is still pending at `version`, in one transaction
   * (the schedule row locked, the change written as the scheduler, the row marked applied with the
   * revision). A change the current state makes invalid is marked failed (audited), not retried.
   * Any other error is thrown: the job retries. Running it twice applies the change once.
   */
  async apply(id: string, version: number, requestId: string | null): Promise<ApplyResult> {
    const r = this.store.read;
    const row = await r.scheduledChanges.findById(id);
    const skip = skipReason(row, version);
    if (skip) return { status: 'skipped', reason: skip };
    const due = row!;
    if (due.runAt.getTime() > this.now().getTime() + EARLY_TOLERANCE_MS) return { status: 'not-due', runAt: due.runAt };
    const project = await r.projects.findById(due.projectId);
    const env = await r.environments.findById(due.environmentId);
    // Both are ON DELETE RESTRICT; a miss is a broken invariant, not an invalid change.
    if (!project || !env) throw new Error(`project or environment of scheduled change ${id} is missing`);
    const w: WriteContext = { principal: SCHEDULER, requestId, reason: applyReason(due) };
    const spec = specOf(due);
    return this.changes.write<ApplyResult>(w, async (tx) => {
      const locked = await tx.scheduledChanges.findById(id, true);
      const again = skipReason(locked, version);
      if (again) return { result: { status: 'skipped', reason: again }, audit: null };
      const current = locked!;
      let outcome: ChangeOutcome<unknown>;
      try {
        outcome = await tx.savepoint((t) => this.applyIn(t, w, project.key, env.key, spec));
      } catch (caught) {
        if (!(caught instanceof DomainError)) throw caught;
        const e = pointIntoChange(caught, spec);
        const error: ScheduledChangeError = { code: e.code, message: e.message, details: e.details.map((d) => ({ ...d })) };
        Object.assign(current, { status: 'failed', error });
        const after = view(await tx.scheduledChanges.save(current), project, env);
        return { result: { status: 'failed', error }, audit: { action: 'schedule.failed', target: { type: 'scheduled-change', key: id }, project: project.key, environment: env.key, after } };
      }
      const markApplied = async (t: Repositories, revision: number | null): Promise<void> => {
        Object.assign(current, { status: 'applied', appliedAt: this.now(), revision });
        await t.scheduledChanges.save(current);
      };
      if (!outcome.audit) {
        await markApplied(tx, null);
        return { result: { status: 'applied', revision: null }, audit: null };
      }
      const revisionOf = (revisions: ReadonlyMap<string, number>) => revisions.get(env.id) ?? null;
      return {
        result: { status: 'applied', revision: null },
        audit: outcome.audit,
        project: outcome.project,
        environments: outcome.environments,
        withRevisions: (revisions) => ({ status: 'applied', revision: revisionOf(revisions) }),
        afterRevisions: (t, revisions) => markApplied(t, revisionOf(revisions)),
      };
    });
  }

  /** The write a change stands for, inside the caller's transaction, with `w`'s rights. */
  private applyIn(tx: Repositories, w: WriteContext, projectKey: string, envKey: string, spec: ScheduledChangeSpec): Promise<ChangeOutcome<unknown>> {
    switch (spec.type) {
      case 'flag.settings':
        return this.flags.putSettingsIn(tx, w, projectKey, spec.flag, envKey, spec.settings.version, spec.settings);
      case 'flag.toggle':
        return this.flags.toggleIn(tx, w, projectKey, spec.flag, envKey, spec.on);
      case 'config.set':
        return this.configs.setLayerIn(tx, w, projectKey, spec.config, { environment: envKey, tenant: spec.tenant }, spec.value);
      case 'config.remove':
        // Scheduled removals of a layer that is not there (yet) are fine: the end state holds.
        return this.configs.setLayerIn(tx, w, projectKey, spec.config, { environment: envKey, tenant: spec.tenant }, undefined, { missingOk: true });
    }
  }

  /** Runs the change in a savepoint and rolls it back: refuses it exactly as the manual write would. */
  private async dryRun(tx: Repositories, w: WriteContext, project: ProjectEntity, env: EnvironmentEntity, spec: ScheduledChangeSpec): Promise<void> {
    try {
      await tx.savepoint(async (t) => {
        await this.applyIn(t, w, project.key, env.key, spec);
        throw new DryRun();
      });
    } catch (e) {
      if (e instanceof DryRun) return;
      throw e instanceof DomainError ? pointIntoChange(e, spec) : e;
    }
  }

  private async conflicts(tx: Repositories, row: ScheduledChangeEntity): Promise<ScheduleConflict[]> {
    const target: ScheduledChangeTarget = { projectId: row.projectId, environmentId: row.environmentId, targetType: row.targetType, targetKey: row.targetKey, tenant: row.tenant };
    return (await tx.scheduledChanges.pendingFor(target, row.id)).map((c) => ({ id: c.id, runAt: c.runAt.toISOString(), change: specOf(c) }));
  }

  private async enqueue(changes: readonly ScheduledChangeRef[]): Promise<void> {
    try {
      await this.queue?.enqueue(changes);
    } catch (err) {
      this.options.onQueueError?.(err);
    }
  }

  private async dequeue(id: string, version: number): Promise<void> {
    try {
      await this.queue?.remove(id, version);
    } catch (err) {
      this.options.onQueueError?.(err);
    }
  }
}

function view(row: ScheduledChangeEntity, project: ProjectEntity, env: EnvironmentEntity): ScheduledChangeView {
  return {
    id: row.id,
    project: project.key,
    environment: env.key,
    change: specOf(row),
    runAt: row.runAt.toISOString(),
    status: row.status,
    version: row.version,
    createdBy: row.createdBy,
    reason: row.reason,
    appliedAt: row.appliedAt?.toISOString() ?? null,
    revision: row.revision,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function skipReason(row: ScheduledChangeEntity | null, version: number): 'missing' | 'not-pending' | 'other-version' | null {
  if (!row) return 'missing';
  if (row.status !== 'pending') return 'not-pending';
  if (row.version !== version) return 'other-version';
  return null;
}

/** The change will apply with the scheduler's rights, so whoever schedules it must hold them now. */
function assertMayChange(w: WriteContext, env: EnvironmentEntity): void {
  if (env.protected && ROLE_RANK[w.principal.role] < ROLE_RANK.owner) {
    throw new ForbiddenError(`environment "${env.key}" is protected: scheduling changes there needs the owner role`);
  }
}

function assertPending(row: ScheduledChangeEntity, what: 'rescheduled' | 'cancelled'): void {
  if (row.status !== 'pending') throw new ConflictError(`scheduled change ${row.id} is ${row.status}; only a pending change can be ${what}`);
}

async function mustSchedule(r: Repositories, project: ProjectEntity, id: string, lock = false): Promise<ScheduledChangeEntity> {
  const row = await r.scheduledChanges.findById(id, lock);
  if (!row || row.projectId !== project.id) throw new NotFoundError(`scheduled change ${id} does not exist in project "${project.key}"`);
  return row;
}

async function environmentOf(r: Repositories, row: ScheduledChangeEntity): Promise<EnvironmentEntity> {
  const env = await r.environments.findById(row.environmentId);
  if (!env) throw new Error(`environment ${row.environmentId} of scheduled change ${row.id} is missing`);
  return env;
}

/** Detail paths of the manual write's body, moved under `change` of the scheduled one. */
function pointIntoChange(e: DomainError, spec: ScheduledChangeSpec): DomainError {
  if (!(e instanceof ValidationError || e instanceof VersionConflictError)) return e;
  return withPathPrefix(e, spec.type === 'flag.settings' ? 'change.settings' : 'change');
}

/** The same error (class, message), its detail paths under `prefix`. */
function withPathPrefix<E extends DomainError>(e: E, prefix: string): E {
  const copy = Object.create(Object.getPrototypeOf(e) as object) as E;
  const details: ErrorDetail[] = e.details.map((d) => ({ ...d, path: joinPath(prefix, d.path) }));
  Object.assign(copy, e, { details });
  Object.defineProperty(copy, 'message', { value: e.message, writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: e.stack, writable: true, configurable: true });
  return copy;
}
