import type { AuditActor } from '@flagstream/audit';
import { ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError, type ErrorDetail } from '@flagstream/errors';
import { FLAG_LIMITS, type FlagEnvironmentSettingsV1, type ServeV1, type WeightedVariationV1 } from '@flagstream/protocol';
import {
  settingsOf,
  type EnvironmentEntity,
  type FlagEntity,
  type GuardrailRollback,
  type NewReleasePlanMilestone,
  type PageRequest,
  type ProjectEntity,
  type ReleasePlanEntity,
  type ReleasePlanMilestoneEntity,
  type ReleasePlanStatus,
  type Repositories,
  type Store,
} from '@flagstream/persistence';
import type { ChangeOutcome, ChangeWriter } from './change-writer';
import { evaluateGuardrail, guardrailProblems, guardrailRow, guardrailView, type GuardrailEvaluation, type GuardrailInput, type GuardrailView } from './guardrails';
import type { FlagWrites } from './flag-writes';
import { mustEnvironment, mustFlag, mustProject } from './lookup';
import type { ReleasePlanQueuePort, ReleasePlanTransitionRef } from './release-plans.queue';
import { actorOf, ROLE_RANK, SCHEDULER, type WriteContext } from './write-context';

/** A milestone as given: a treatment percentage or explicit weights, then a bake time or a manual gate. */
export interface MilestoneInput {
  percentage?: number;
  weights?: WeightedVariationV1[];
  bakeSeconds?: number;
  manual?: boolean;
}

export interface NewReleasePlanInput {
  environment: string;
  flag: string;
  /** The variation users outside the rollout get (default: the flag's off variation there). */
  control?: string;
  /** The variation being rolled out (default for boolean flags: the one whose value is true). */
  treatment?: string;
  milestones: MilestoneInput[];
  /** Metrics that roll the plan back by themselves when they go bad (docs/rollouts.md#guardrails). */
  guardrails?: GuardrailInput[];
  reason: string | null;
}

export interface MilestoneView {
  index: number;
  percentage: number | null;
  weights: WeightedVariationV1[] | null;
  gate: { type: 'bake'; seconds: number } | { type: 'manual' };
}

export interface PlanTransitionView {
  action: string;
  from: number;
  to: number;
  status: ReleasePlanStatus;
  actor: AuditActor;
  revision: number | null;
  at: string;
}

export interface ReleasePlanView {
  id: string;
  project: string;
  environment: string;
  flag: string;
  control: string;
  treatment: string;
  status: ReleasePlanStatus;
  /** -1 before start. */
  currentMilestone: number;
  milestones: MilestoneView[];
  /** When the worker moves to the next milestone (null: not timed, e.g. a manual gate or paused). */
  nextTransitionAt: string | null;
  /** While paused: the bake time left, used again on resume. */
  remainingBakeMs: number | null;
  /** The flag's settings before the plan started (what abort restores). */
  settingsBefore: FlagEnvironmentSettingsV1 | null;
  guardrails: GuardrailView[];
  /** Since when guardrails count events (the last milestone applied, or resume); null for a draft. */
  observingSince: string | null;
  version: number;
  createdBy: AuditActor;
  reason: string | null;
  history: PlanTransitionView[];
  createdAt: string;
  updatedAt: string;
}

export interface ReleasePlanListFilter {
  status?: ReleasePlanStatus;
  environment?: string;
  flag?: string;
}

/** What the worker's attempt at a transition came to. */
export type PlanStepResult =
  | { status: 'applied'; milestone: number; revision: number | null }
  /** The step is invalid now (a variation removed…): the plan is paused, not retried. */
  | { status: 'failed'; error: { code: string; message: string } }
  | { status: 'skipped'; reason: 'missing' | 'not-running' | 'other-version' | 'other-milestone' }
  | { status: 'not-due'; at: Date };

/** What the worker's evaluation of a plan's guardrails came to. */
export interface GuardrailPassResult {
  planId: string;
  evaluations: GuardrailEvaluation[];
  /** Set when a breach rolled the plan back (this worker did it). */
  rolledBack?: { plan: ReleasePlanView; revision: number | null; guardrail: number; reason: string };
}

export const MAX_MILESTONES = 20;
/** A bake time is at most 30 days. */
export const MAX_BAKE_SECONDS = 30 * 24 * 3600;
const FLAG_BUCKET_SCALE = FLAG_LIMITS.bucketScale;
/** A job that fires this much early still moves the plan (timer and clock jitter). */
const EARLY_TOLERANCE_MS = 1000;

export interface ReleasePlansOptions {
  /** Called when the queue cannot be reached after a commit; the worker's sweep enqueues later. */
  onQueueError?: (err: unknown) => void;
  now?: () => Date;
}

type Loaded = { plan: ReleasePlanEntity; project: ProjectEntity; env: EnvironmentEntity; flag: FlagEntity; milestones: ReleasePlanMilestoneEntity[] };

/**
 * Release plans: a flag's gradual rollout in one environment through ordered milestones. Every
 * step is an ordinary flag settings write (audited, streamed) through `FlagWrites.putSettingsIn`:
 * the default serve becomes a rollout between the control and the treatment, keeping rules, salt,
 * seed and bucketing attribute, so users already in the treatment stay in it as it grows.
 */
export class ReleasePlans {
  private readonly now: () => Date;

  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
    private readonly flags: FlagWrites,
    private readonly queue: ReleasePlanQueuePort | null,
    private readonly options: ReleasePlansOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Validates and stores a draft plan (one active plan per flag and environment: else 409). */
  create(w: WriteContext, projectKey: string, input: NewReleasePlanInput): Promise<ReleasePlanView> {
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const env = await mustEnvironment(tx, project, input.environment);
      assertMayChange(w, env);
      const flag = await mustFlag(tx, project, input.flag, true);
      if (flag.archived) throw new ConflictError(`flag "${flag.key}" is archived`);
      const settings = await tx.flags.findSettings(flag.id, env.id);
      if (!settings) throw new Error(`settings of flag ${flag.id} in environment ${env.id} are missing`);
      const control = input.control ?? settings.offVariation;
      const treatment = input.treatment ?? (flag.kind === 'boolean' ? flag.variations.find((v) => v.value === true)?.key : undefined);
      const known = new Set(flag.variations.map((v) => v.key));
      const details: ErrorDetail[] = [];
      if (!known.has(control)) details.push({ path: 'control', message: `flag "${flag.key}" has no variation "${control}"` });
      if (treatment === undefined) details.push({ path: 'treatment', message: 'required for a flag that is not boolean' });
      else if (!known.has(treatment)) details.push({ path: 'treatment', message: `flag "${flag.key}" has no variation "${treatment}"` });
      else if (treatment === control) details.push({ path: 'treatment', message: 'must differ from control' });
      details.push(...milestoneProblems(input.milestones, known));
      details.push(...guardrailProblems(input.guardrails));
      if (details.length) throw new ValidationError('release plan is not valid', details);
      if (await tx.releasePlans.findActive(flag.id, env.id)) {
        throw new ConflictError(`flag "${flag.key}" already has an active release plan in environment "${env.key}"`);
      }
      const plan = await tx.releasePlans.insert(
        { projectId: project.id, environmentId: env.id, flagId: flag.id, flagKey: flag.key, controlVariation: control, treatmentVariation: treatment!, createdBy: actorOf(w.principal), reason: input.reason },
        input.milestones.map(toRow),
        (input.guardrails ?? []).map(guardrailRow),
      );
      await tx.releasePlans.appendTransition({ planId: plan.id, action: 'created', fromMilestone: -1, toMilestone: -1, status: 'draft', actor: actorOf(w.principal), revision: null });
      const after = await this.view(tx, plan, project, env);
      return { result: after, audit: { action: 'release_plan.created', target: { type: 'release-plan', key: plan.id }, project: project.key, environment: env.key, after: strip(after) } };
    });
  }

  async list(projectKey: string, page: PageRequest, filter: ReleasePlanListFilter = {}) {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const envs = new Map((await r.environments.listAll(project.id)).map((e) => [e.id, e]));
    let environmentId: string | undefined;
    if (filter.environment !== undefined) environmentId = (await mustEnvironment(r, project, filter.environment)).id;
    let flagId: string | undefined;
    if (filter.flag !== undefined) flagId = (await mustFlag(r, project, filter.flag)).id;
    const rows = await r.releasePlans.list(project.id, page, { status: filter.status, environmentId, flagId });
    const items: ReleasePlanView[] = [];
    for (const row of rows.items) items.push(await this.view(r, row, project, envs.get(row.environmentId)!));
    return { items, nextCursor: rows.nextCursor };
  }

  async get(projectKey: string, id: string): Promise<ReleasePlanView> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const plan = await mustPlan(r, project, id);
    return this.view(r, plan, project, await environmentOf(r, plan));
  }

  /** Snapshots the flag's settings and applies the first milestone now, as the caller. */
  async start(w: WriteContext, projectKey: string, id: string): Promise<ReleasePlanView> {
    const out = await this.changes.write(w, async (tx) => {
      const l = await this.load(tx, projectKey, id, w);
      if (l.plan.status !== 'draft') throw new ConflictError(`release plan ${id} is ${l.plan.status}; only a draft can be started`);
      // A running experiment owns the flag's rollout there: a plan would overwrite its assignment.
      const experiment = await tx.experiments.findRunning(l.flag.id, l.env.id);
      if (experiment) throw new ConflictError(`experiment "${experiment.key}" is running on flag "${l.flag.key}" in environment "${l.env.key}"; stop it before starting a release plan`);
      const current = await tx.flags.findSettings(l.flag.id, l.env.id, true);
      l.plan.settingsBefore = settingsOf(current!);
      return this.step(tx, w, l, 0, 'started');
    });
    await this.enqueue(out);
    return out;
  }

  /** Applies the next milestone now, as the caller (this also approves a manual gate). */
  async advance(w: WriteContext, projectKey: string, id: string): Promise<ReleasePlanView> {
    const out = await this.changes.write(w, async (tx) => {
      const l = await this.load(tx, projectKey, id, w);
      if (l.plan.status !== 'running') throw new ConflictError(`release plan ${id} is ${l.plan.status}; only a running plan can be advanced`);
      return this.step(tx, w, l, l.plan.currentMilestone + 1, 'advanced');
    });
    await this.enqueue(out);
    return out;
  }

  /** Stops the clock: the pending transition is dropped and the bake time left is kept for resume. */
  async pause(w: WriteContext, projectKey: string, id: string): Promise<ReleasePlanView> {
    const job: { old?: { milestone: number; version: number } } = {};
    const out = await this.changes.write(w, async (tx) => {
      const l = await this.load(tx, projectKey, id, w);
      if (l.plan.status !== 'running') throw new ConflictError(`release plan ${id} is ${l.plan.status}; only a running plan can be paused`);
      job.old = { milestone: l.plan.currentMilestone + 1, version: l.plan.version };
      return this.setPaused(tx, w, l, 'paused');
    });
    if (job.old) await this.dequeue(id, job.old);
    return out;
  }

  /** Starts the clock again with the bake time that was left when the plan was paused. */
  async resume(w: WriteContext, projectKey: string, id: string): Promise<ReleasePlanView> {
    const out = await this.changes.write(w, async (tx) => {
      const l = await this.load(tx, projectKey, id, w);
      if (l.plan.status !== 'paused') throw new ConflictError(`release plan ${id} is ${l.plan.status}; only a paused plan can be resumed`);
      const before = await this.view(tx, l.plan, l.project, l.env);
      const gate = l.milestones[l.plan.currentMilestone];
      const remaining = l.plan.remainingBakeMs;
      Object.assign(l.plan, {
        status: 'running',
        nextTransitionAt: gate && !gate.manual && remaining !== null ? new Date(this.now().getTime() + remaining) : null,
        remainingBakeMs: null,
        observeSince: this.now(),
        version: l.plan.version + 1,
      });
      return this.record(tx, w, l, before, 'resumed', l.plan.currentMilestone);
    });
    await this.enqueue(out);
    return out;
  }

  /** Ends the plan and puts back the flag's settings from before it started, as the caller. */
  async abort(w: WriteContext, projectKey: string, id: string): Promise<ReleasePlanView> {
    const job: { old?: { milestone: number; version: number } } = {};
    const out = await this.changes.write(w, async (tx) => {
      const l = await this.load(tx, projectKey, id, w);
      const { plan } = l;
      if (plan.status === 'completed' || plan.status === 'aborted') throw new ConflictError(`release plan ${id} is ${plan.status}; it cannot be aborted`);
      job.old = { milestone: plan.currentMilestone + 1, version: plan.version };
      const before = await this.view(tx, plan, l.project, l.env);
      Object.assign(plan, { status: 'aborted', nextTransitionAt: null, remainingBakeMs: null, version: plan.version + 1 });
      if (!plan.settingsBefore) return this.record(tx, w, l, before, 'aborted', plan.currentMilestone);
      const restored = await this.flags.putSettingsIn(tx, w, l.project.key, l.flag.key, l.env.key, undefined, plan.settingsBefore);
      return this.withFlagChange(tx, w, l, restored, 'aborted', plan.currentMilestone);
    });
    if (job.old) await this.dequeue(id, job.old);
    return out;
  }

  /**
   * Inside the caller's transaction (the kill switch): pauses the running plans of these flags in
   * these environments. Call `forget` with them after commit.
   */
  async pauseForFlagsIn(tx: Repositories, w: WriteContext, project: ProjectEntity, environments: readonly EnvironmentEntity[], flagIds: readonly string[]): Promise<ReleasePlanView[]> {
    const byId = new Map(environments.map((e) => [e.id, e]));
    const out: ReleasePlanView[] = [];
    for (const plan of await tx.releasePlans.activeForFlags(environments.map((e) => e.id), flagIds)) {
      if (plan.status !== 'running') continue;
      const env = byId.get(plan.environmentId)!;
      Object.assign(plan, this.pausedState(plan));
      const saved = await tx.releasePlans.save(plan);
      await tx.releasePlans.appendTransition({ planId: plan.id, action: 'paused-by-kill-switch', fromMilestone: plan.currentMilestone, toMilestone: plan.currentMilestone, status: 'paused', actor: actorOf(w.principal), revision: null });
      out.push(await this.view(tx, saved, project, env));
    }
    return out;
  }

  /** Removes the jobs of plans paused in a transaction that has committed. */
  async forget(paused: readonly Pick<ReleasePlanView, 'id' | 'version' | 'currentMilestone'>[]): Promise<void> {
    for (const p of paused) await this.dequeue(p.id, { milestone: p.currentMilestone + 1, version: p.version - 1 });
  }

  /**
   * The worker's job: moves the plan to `milestone` if it is still running at `version` and at
   * the milestone before, in one transaction (the plan row locked, the step written as the
   * scheduler), then enqueues the next timed transition. Running it twice moves the plan once.
   */
  async applyDue(id: string, version: number, milestone: number, requestId: string | null): Promise<PlanStepResult> {
    const row = await this.store.read.releasePlans.findById(id);
    const skip = skipReason(row, version, milestone);
    if (skip) return { status: 'skipped', reason: skip };
    if (row!.nextTransitionAt && row!.nextTransitionAt.getTime() > this.now().getTime() + EARLY_TOLERANCE_MS) return { status: 'not-due', at: row!.nextTransitionAt };
    const w: WriteContext = { principal: SCHEDULER, requestId, reason: `release plan ${id} (${row!.createdBy.name}): milestone ${milestone + 1}` };
    const applied: { view?: ReleasePlanView } = {};
    const result = await this.changes.write<PlanStepResult>(w, async (tx) => {
      const locked = await tx.releasePlans.findById(id, true);
      const again = skipReason(locked, version, milestone);
      if (again) return { result: { status: 'skipped', reason: again }, audit: null };
      const l = await this.loadRow(tx, locked!);
      try {
        const outcome = await tx.savepoint((t) => this.step(t, w, l, milestone, 'advanced-by-scheduler'));
        applied.view = outcome.result;
        return { ...outcome, result: { status: 'applied', milestone, revision: null }, withRevisions: (revs) => ({ status: 'applied', milestone, revision: revs.get(l.env.id) ?? null }) };
      } catch (caught) {
        if (!(caught instanceof DomainError)) throw caught;
        const out = await this.setPaused(tx, w, l, 'paused-on-failure');
        return { ...out, result: { status: 'failed', error: { code: caught.code, message: caught.message } }, withRevisions: undefined };
      }
    });
    if (applied.view) await this.enqueue(applied.view);
    return result;
  }

  /** Running plans with guardrails, by id, a page at a time (the worker's evaluation pass). */
  async guardedPlans(limit: number, afterId?: string): Promise<Array<{ id: string; version: number }>> {
    return (await this.store.read.releasePlans.listGuarded(limit, afterId)).map((p) => ({ id: p.id, version: p.version }));
  }

  /**
   * The worker's guardrail check of one running plan: each guardrail's totals are computed in
   * Postgres over its window (never before the plan started or resumed), judged by
   * `evaluateGuardrail`, and stored with it. The first breach rolls the plan back
   * (`rollBackOnBreach`); the rest are still evaluated and stored, for the status page.
   */
  async evaluateGuardrails(id: string, requestId: string | null = null): Promise<GuardrailPassResult> {
    const r = this.store.read;
    const plan = await r.releasePlans.findById(id);
    if (!plan || plan.status !== 'running') return { planId: id, evaluations: [] };
    const until = this.now();
    const evaluations: GuardrailEvaluation[] = [];
    let breach: { guardrail: number; rollback: GuardrailRollback; reason: string } | undefined;
    for (const g of await r.releasePlans.guardrails(id)) {
      const windowStart = until.getTime() - g.windowSeconds * 1000;
      const since = new Date(Math.max(windowStart, plan.observeSince?.getTime() ?? windowStart));
      const sample = await r.sdkEvents.exposureSample({ environmentId: plan.environmentId, flag: plan.flagKey, treatment: plan.treatmentVariation, metric: g.metric, since, until, sources: g.eventSources });
      const evaluation = evaluateGuardrail(g, sample, { since, until });
      evaluations.push(evaluation);
      await r.releasePlans.saveEvaluation(id, g.position, evaluation as unknown as Record<string, unknown>, until);
      if (evaluation.status === 'breached' && !breach) breach = { guardrail: g.position, rollback: g.rollback, reason: evaluation.reason };
    }
    if (!breach) return { planId: id, evaluations };
    const rolled = await this.rollBackOnBreach(id, plan.version, breach, requestId);
    return rolled.status === 'rolled-back' ? { planId: id, evaluations, rolledBack: { plan: rolled.plan, revision: rolled.revision, ...breach } } : { planId: id, evaluations };
  }

  /**
   * A guardrail's breach, in one transaction with the plan row locked: unless the plan moved on
   * since it was judged (another version), the flag goes back to the previous milestone (before
   * the first one: the settings from before the plan) or off, as the guardrail says, and the plan
   * is paused there. The flag write's audit record carries the breach as its reason. Applied
   * once, however many workers judged the same data.
   */
  async rollBackOnBreach(
    id: string,
    version: number,
    breach: { guardrail: number; rollback: GuardrailRollback; reason: string },
    requestId: string | null,
  ): Promise<{ status: 'rolled-back'; plan: ReleasePlanView; revision: number | null } | { status: 'skipped'; reason: 'missing' | 'not-running' | 'other-version' }> {
    type Out = { status: 'rolled-back'; plan: ReleasePlanView; revision: number | null } | { status: 'skipped'; reason: 'missing' | 'not-running' | 'other-version' };
    const w: WriteContext = { principal: SCHEDULER, requestId, reason: `guardrail ${breach.guardrail + 1} of release plan ${id} breached: ${breach.reason}` };
    const old: { job?: { milestone: number; version: number } } = {};
    const out = await this.changes.write<Out>(w, async (tx) => {
      const plan = await tx.releasePlans.findById(id, true);
      const skip = !plan ? 'missing' : plan.status !== 'running' ? 'not-running' : plan.version !== version ? 'other-version' : null;
      if (skip) return { result: { status: 'skipped', reason: skip }, audit: null };
      const l = await this.loadRow(tx, plan!);
      const from = l.plan.currentMilestone;
      old.job = { milestone: from + 1, version: l.plan.version };
      const current = settingsOf((await tx.flags.findSettings(l.flag.id, l.env.id, true))!);
      // From before the first milestone (a resumed plan at -1) there is nowhere further back: -1 again.
      const to = breach.rollback === 'off' ? -1 : Math.max(-1, from - 1);
      const target =
        breach.rollback === 'off' ? { ...current, on: false } : to >= 0 ? { ...current, on: true, defaultServe: serveFor(l.milestones[to], l.plan, current.defaultServe) } : l.plan.settingsBefore!;
      const written = await this.flags.putSettingsIn(tx, w, l.project.key, l.flag.key, l.env.key, undefined, target);
      const gate = to >= 0 ? l.milestones[to] : undefined;
      Object.assign(l.plan, { status: 'paused', currentMilestone: to, nextTransitionAt: null, remainingBakeMs: gate && !gate.manual ? gate.bakeSeconds! * 1000 : null, version: l.plan.version + 1 });
      const o = await this.withFlagChange(tx, w, l, written, 'rolled-back-by-guardrail', from);
      return {
        ...o,
        result: { status: 'rolled-back', plan: o.result, revision: null },
        withRevisions: (revs) => ({ status: 'rolled-back', plan: o.withRevisions!(revs), revision: revs.get(l.env.id) ?? null }),
      };
    });
    if (old.job && out.status === 'rolled-back') await this.dequeue(id, old.job);
    return out;
  }

  /** Every timed transition of running plans (the worker's sweep), a page at a time. */
  async timedTransitions(limit: number, after?: { nextTransitionAt: Date; id: string }): Promise<ReleasePlanTransitionRef[]> {
    const rows = await this.store.read.releasePlans.listTimed(limit, after);
    return rows.map((p) => ({ id: p.id, version: p.version, milestone: p.currentMilestone + 1, at: p.nextTransitionAt! }));
  }

  private async step(tx: Repositories, w: WriteContext, l: Loaded, index: number, action: string): Promise<ChangeOutcome<ReleasePlanView>> {
    const { plan, milestones } = l;
    const m = milestones[index];
    if (!m) throw new ConflictError(`release plan ${plan.id} has no milestone ${index + 1}`);
    const current = await tx.flags.findSettings(l.flag.id, l.env.id, true);
    const settings = settingsOf(current!);
    const defaultServe = serveFor(m, plan, settings.defaultServe);
    const ctx: WriteContext = { ...w, reason: w.reason ?? `release plan ${plan.id}: milestone ${index + 1}` };
    const written = await this.flags.putSettingsIn(tx, ctx, l.project.key, l.flag.key, l.env.key, undefined, { ...settings, on: true, defaultServe });
    const from = plan.currentMilestone;
    const last = index === milestones.length - 1;
    Object.assign(plan, {
      status: last ? 'completed' : 'running',
      currentMilestone: index,
      nextTransitionAt: last || m.manual ? null : new Date(this.now().getTime() + m.bakeSeconds! * 1000),
      remainingBakeMs: null,
      // Each milestone is judged on its own traffic: assignments are stable within it.
      observeSince: this.now(),
      version: plan.version + 1,
    });
    return this.withFlagChange(tx, w, l, written, action, from);
  }

  /** A plan change that carries a flag settings write: the flag's audit record, the plan's history with its revision. */
  private async withFlagChange(tx: Repositories, w: WriteContext, l: Loaded, written: ChangeOutcome<unknown>, action: string, from: number): Promise<ChangeOutcome<ReleasePlanView>> {
    const saved = await tx.releasePlans.save(l.plan);
    const view = await this.view(tx, saved, l.project, l.env);
    const audit = written.audit ?? { action: `release_plan.${action}`, target: { type: 'release-plan', key: saved.id }, project: l.project.key, environment: l.env.key, after: strip(view) };
    let revision: number | null = null;
    return {
      result: view,
      audit,
      project: written.project,
      environments: written.environments,
      afterRevisions: async (t, revs) => {
        revision = revs.get(l.env.id) ?? null;
        await t.releasePlans.appendTransition({ planId: saved.id, action, fromMilestone: from, toMilestone: saved.currentMilestone, status: saved.status, actor: actorOf(w.principal), revision });
      },
      withRevisions: () => ({ ...view, history: [...view.history, transitionView(action, from, saved, actorOf(w.principal), revision, this.now())] }),
    };
  }

  private pausedState(plan: ReleasePlanEntity): Partial<ReleasePlanEntity> {
    const remaining = plan.nextTransitionAt ? Math.max(0, plan.nextTransitionAt.getTime() - this.now().getTime()) : null;
    return { status: 'paused', nextTransitionAt: null, remainingBakeMs: remaining, version: plan.version + 1 };
  }

  private async setPaused(tx: Repositories, w: WriteContext, l: Loaded, action: string): Promise<ChangeOutcome<ReleasePlanView>> {
    const before = await this.view(tx, l.plan, l.project, l.env);
    Object.assign(l.plan, this.pausedState(l.plan));
    return this.record(tx, w, l, before, action, l.plan.currentMilestone);
  }

  /** A plan change without a flag write: audited as `release_plan.<action>`, no revision. */
  private async record(tx: Repositories, w: WriteContext, l: Loaded, before: ReleasePlanView, action: string, from: number): Promise<ChangeOutcome<ReleasePlanView>> {
    const saved = await tx.releasePlans.save(l.plan);
    await tx.releasePlans.appendTransition({ planId: saved.id, action, fromMilestone: from, toMilestone: saved.currentMilestone, status: saved.status, actor: actorOf(w.principal), revision: null });
    const after = await this.view(tx, saved, l.project, l.env);
    return { result: after, audit: { action: `release_plan.${action}`, target: { type: 'release-plan', key: saved.id }, project: l.project.key, environment: l.env.key, before: strip(before), after: strip(after) } };
  }

  private async load(tx: Repositories, projectKey: string, id: string, w: WriteContext): Promise<Loaded> {
    const project = await mustProject(tx, projectKey);
    const plan = await mustPlan(tx, project, id, true);
    const l = await this.loadRow(tx, plan, project);
    assertMayChange(w, l.env);
    return l;
  }

  private async loadRow(tx: Repositories, plan: ReleasePlanEntity, known?: ProjectEntity): Promise<Loaded> {
    const project = known ?? (await tx.projects.findById(plan.projectId));
    const env = await environmentOf(tx, plan);
    if (!project) throw new Error(`project of release plan ${plan.id} is missing`);
    const flag = await mustFlag(tx, project, plan.flagKey);
    return { plan, project, env, flag, milestones: await tx.releasePlans.milestones(plan.id) };
  }

  private async view(r: Repositories, plan: ReleasePlanEntity, project: ProjectEntity, env: EnvironmentEntity): Promise<ReleasePlanView> {
    const milestones = await r.releasePlans.milestones(plan.id);
    const history = await r.releasePlans.history(plan.id);
    const guardrails = await r.releasePlans.guardrails(plan.id);
    return {
      id: plan.id,
      project: project.key,
      environment: env.key,
      flag: plan.flagKey,
      control: plan.controlVariation,
      treatment: plan.treatmentVariation,
      status: plan.status,
      currentMilestone: plan.currentMilestone,
      milestones: milestones.map((m) => ({ index: m.position, percentage: m.percentage, weights: m.weights, gate: m.manual ? { type: 'manual' } : { type: 'bake', seconds: m.bakeSeconds! } })),
      nextTransitionAt: plan.nextTransitionAt?.toISOString() ?? null,
      remainingBakeMs: plan.remainingBakeMs,
      settingsBefore: plan.settingsBefore,
      guardrails: guardrails.map(guardrailView),
      observingSince: plan.observeSince?.toISOString() ?? null,
      version: plan.version,
      createdBy: plan.createdBy,
      reason: plan.reason,
      history: history.map((h) => ({ action: h.action, from: h.fromMilestone, to: h.toMilestone, status: h.status, actor: h.actor, revision: h.revision, at: h.occurredAt.toISOString() })),
      createdAt: plan.createdAt.toISOString(),
      updatedAt: plan.updatedAt.toISOString(),
    };
  }

  private async enqueue(view: Pick<ReleasePlanView, 'id' | 'status' | 'version' | 'currentMilestone' | 'nextTransitionAt'>): Promise<void> {
    if (view.status !== 'running' || view.nextTransitionAt === null) return;
    try {
      await this.queue?.enqueue([{ id: view.id, version: view.version, milestone: view.currentMilestone + 1, at: new Date(view.nextTransitionAt) }]);
    } catch (err) {
      this.options.onQueueError?.(err);
    }
  }

  private async dequeue(id: string, job: { milestone: number; version: number }): Promise<void> {
    try {
      await this.queue?.remove(id, job.milestone, job.version);
    } catch (err) {
      this.options.onQueueError?.(err);
    }
  }
}

/** The default serve of a milestone: treatment first, so a growing treatment slice keeps its users. */
export function serveFor(m: Pick<ReleasePlanMilestoneEntity, 'percentage' | 'weights'>, plan: Pick<ReleasePlanEntity, 'controlVariation' | 'treatmentVariation'>, previous: ServeV1): ServeV1 {
  const keep = previous.rollout ? { ...(previous.rollout.bucketBy !== undefined ? { bucketBy: previous.rollout.bucketBy } : {}), ...(previous.rollout.seed !== undefined ? { seed: previous.rollout.seed } : {}) } : {};
  if (m.weights) return { rollout: { variations: m.weights.map((v) => ({ ...v })), ...keep } };
  const treatment = Math.round(m.percentage! * (FLAG_BUCKET_SCALE / 100));
  return {
    rollout: {
      variations: [
        { variation: plan.treatmentVariation, weight: treatment },
        { variation: plan.controlVariation, weight: FLAG_BUCKET_SCALE - treatment },
      ],
      ...keep,
    },
  };
}

/** Problems of a milestone list: 1..20, a percentage (strictly increasing) or weights summing to 100,000, one gate each. */
export function milestoneProblems(milestones: readonly MilestoneInput[], variations: ReadonlySet<string>): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (milestones.length < 1 || milestones.length > MAX_MILESTONES) {
    return [{ path: 'milestones', message: `must hold 1 to ${MAX_MILESTONES} milestones` }];
  }
  let previous = 0;
  milestones.forEach((m, i) => {
    const at = `milestones.${i}`;
    if ((m.percentage === undefined) === (m.weights === undefined)) out.push({ path: at, message: 'give exactly one of percentage and weights' });
    if (m.percentage !== undefined) {
      if (typeof m.percentage !== 'number' || !(m.percentage > 0 && m.percentage <= 100)) out.push({ path: `${at}.percentage`, message: 'must be more than 0 and at most 100' });
      else if (Math.abs(Math.round(m.percentage * 1000) - m.percentage * 1000) > 1e-6) out.push({ path: `${at}.percentage`, message: 'at most 3 decimals (the bucket scale is 1/100,000)' });
      else if (m.percentage <= previous) out.push({ path: `${at}.percentage`, message: `must be more than the previous milestone's ${previous}` });
      else previous = m.percentage;
    }
    if (m.weights !== undefined) {
      const sum = m.weights.reduce((s, v) => s + v.weight, 0);
      if (sum !== FLAG_BUCKET_SCALE) out.push({ path: `${at}.weights`, message: `weights must sum to ${FLAG_BUCKET_SCALE}, not ${sum}` });
      m.weights.forEach((v, j) => {
        if (!variations.has(v.variation)) out.push({ path: `${at}.weights.${j}.variation`, message: `the flag has no variation "${v.variation}"` });
      });
    }
    const manual = m.manual === true;
    if (manual === (m.bakeSeconds !== undefined)) out.push({ path: at, message: 'give exactly one gate: bakeSeconds or manual: true' });
    if (m.bakeSeconds !== undefined && !(Number.isInteger(m.bakeSeconds) && m.bakeSeconds >= 1 && m.bakeSeconds <= MAX_BAKE_SECONDS)) {
      out.push({ path: `${at}.bakeSeconds`, message: `must be a whole number of seconds from 1 to ${MAX_BAKE_SECONDS}` });
    }
  });
  return out;
}

function toRow(m: MilestoneInput, position: number): NewReleasePlanMilestone {
  return { position, percentage: m.percentage ?? null, weights: m.weights ?? null, bakeSeconds: m.manual ? null : (m.bakeSeconds ?? null), manual: m.manual === true };
}

function transitionView(action: string, from: number, plan: ReleasePlanEntity, actor: AuditActor, revision: number | null, at: Date): PlanTransitionView {
  return { action, from, to: plan.currentMilestone, status: plan.status, actor, revision, at: at.toISOString() };
}

/** The audit copy of a plan: without its history (the history is its own record). */
function strip(v: ReleasePlanView): Omit<ReleasePlanView, 'history'> {
  const { history: _h, ...rest } = v;
  return rest;
}

function skipReason(row: ReleasePlanEntity | null, version: number, milestone: number): 'missing' | 'not-running' | 'other-version' | 'other-milestone' | null {
  if (!row) return 'missing';
  if (row.status !== 'running') return 'not-running';
  if (row.version !== version) return 'other-version';
  if (row.currentMilestone !== milestone - 1) return 'other-milestone';
  return null;
}

function assertMayChange(w: WriteContext, env: EnvironmentEntity): void {
  if (env.protected && ROLE_RANK[w.principal.role] < ROLE_RANK.owner) {
    throw new ForbiddenError(`environment "${env.key}" is protected: release plans there need the owner role`);
  }
}

async function mustPlan(r: Repositories, project: ProjectEntity, id: string, lock = false): Promise<ReleasePlanEntity> {
  const plan = await r.releasePlans.findById(id, lock);
  if (!plan || plan.projectId !== project.id) throw new NotFoundError(`release plan ${id} does not exist in project "${project.key}"`);
  return plan;
}

async function environmentOf(r: Repositories, plan: ReleasePlanEntity): Promise<EnvironmentEntity> {
  const env = await r.environments.findById(plan.environmentId);
  if (!env) throw new Error(`environment ${plan.environmentId} of release plan ${plan.id} is missing`);
  return env;
}
