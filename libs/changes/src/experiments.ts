import type { AuditActor } from '@flagstream/audit';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type ErrorDetail } from '@flagstream/errors';
import type { FlagEnvironmentSettingsV1, RolloutV1, ServeV1 } from '@flagstream/protocol';
import {
  settingsOf,
  type EnvironmentEntity,
  type ExperimentEntity,
  type ExperimentEventSources,
  type ExperimentMetricEntity,
  type ExperimentMetricKind,
  type ExperimentMetricRole,
  type ExperimentOutcome,
  type ExperimentStatus,
  type ExperimentVariationWeight,
  type FlagEntity,
  type PageRequest,
  type ProjectEntity,
  type Repositories,
  type Store,
} from '@flagstream/persistence';
import type { ChangeOutcome, ChangeWriter } from './change-writer';
import { ExperimentResults } from './experiment-results';
import { historyPoint, presentExperimentResults, type ExperimentHistoryPoint, type ExperimentResultsView } from './experiment-results.view';
import type { FlagWrites } from './flag-writes';
import { mustEnvironment, mustFlag, mustProject } from './lookup';
import {
  EXPERIMENT_DEFAULTS,
  experimentProblems,
  experimentRollout,
  assignmentProblem,
  runsExperiment,
  serveAt,
  variationsOf,
  withServeAt,
  type NewExperimentInput,
} from './experiments.rules';
import { actorOf, ROLE_RANK, type WriteContext } from './write-context';

export interface ExperimentMetricView {
  key: string;
  role: ExperimentMetricRole;
  kind: ExperimentMetricKind;
  event: string;
  denominatorEvent: string | null;
  windowSeconds: number | null;
  lowerIsBetter: boolean;
}

/** An experiment as the API shows it. */
export interface ExperimentView {
  id: string;
  key: string;
  name: string;
  hypothesis: string | null;
  project: string;
  environment: string;
  flag: string;
  status: ExperimentStatus;
  control: string;
  variations: ExperimentVariationWeight[];
  coverage: number;
  unitAttribute: string;
  /** The targeting rule whose serve the experiment takes over; null: the default serve. */
  rule: string | null;
  eventSources: ExperimentEventSources;
  alpha: number;
  metrics: ExperimentMetricView[];
  /** The rollout the experiment writes into that serve while it runs. */
  rollout: RolloutV1;
  startedAt: string | null;
  stoppedAt: string | null;
  /** The flag's settings in the environment when the experiment started (what `restore` uses). */
  settingsBefore: FlagEnvironmentSettingsV1 | null;
  outcome: ExperimentOutcome | null;
  /** When the last aggregation ran: the results hold every event stored before it (within the settle time, once stopped). */
  watermark: string | null;
  aggregatedAt: string | null;
  version: number;
  createdBy: AuditActor;
  createdAt: string;
  updatedAt: string;
}

export interface ExperimentListFilter {
  status?: ExperimentStatus;
  environment?: string;
  flag?: string;
}

/** How to stop: put back the serve from before the start, or serve one variation (ship the winner). */
export interface StopExperimentInput {
  action: 'restore' | 'variation';
  /** With `variation`: the variation to serve. */
  variation?: string;
  reason?: string;
}

/** A page of the results' time series, oldest first; `nextAfter` is the `after` of the next page. */
export interface ExperimentHistoryPage {
  items: ExperimentHistoryPoint[];
  nextAfter: number | null;
}

export interface ExperimentsOptions {
  /** Runs on-demand aggregations (default: `new ExperimentResults(store)`). */
  results?: Pick<ExperimentResults, 'aggregate'>;
  now?: () => Date;
}

type Loaded = { experiment: ExperimentEntity; project: ProjectEntity; env: EnvironmentEntity; flag: FlagEntity };

/**
 * Experiments: A/B tests on a flag's serve in one environment. Starting writes the experiment's
 * rollout into the serve it takes over (the default serve or one rule's) and stopping puts back
 * what was there or serves one variation; both are ordinary flag settings writes through
 * `FlagWrites.putSettingsIn` inside one `ChangeWriter.write`, so they are validated, audited (as
 * `experiment.started` / `experiment.stopped`, with the flag's settings before and after) and
 * streamed to SDKs like any other change.
 */
export class Experiments {
  private readonly now: () => Date;
  private readonly aggregator: Pick<ExperimentResults, 'aggregate'>;

  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
    private readonly flags: FlagWrites,
    options: ExperimentsOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.aggregator = options.results ?? new ExperimentResults(store);
  }

  /** Validates and stores a draft (400 listing every problem; 404 for an unknown environment or flag). */
  create(w: WriteContext, projectKey: string, input: NewExperimentInput): Promise<ExperimentView> {
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const own = experimentProblems(input);
      // Without valid keys there is nothing to look up: report what is wrong with the body.
      if (own.some((p) => p.path === 'environment' || p.path === 'flag')) throw new ValidationError('experiment is not valid', own);
      const env = await mustEnvironment(tx, project, input.environment);
      assertMayChange(w, env);
      const flag = await mustFlag(tx, project, input.flag);
      if (flag.archived) throw new ConflictError(`flag "${flag.key}" is archived`);
      const settings = await mustSettings(tx, flag, env);
      const details = experimentProblems(input, { key: flag.key, variations: new Set(flag.variations.map((v) => v.key)), ruleIds: new Set(settings.rules.map((r) => r.id)) });
      if (details.length) throw new ValidationError('experiment is not valid', details);
      const experiment = await tx.experiments.insert(
        {
          projectId: project.id,
          environmentId: env.id,
          flagId: flag.id,
          flagKey: flag.key,
          key: input.key,
          name: input.name,
          hypothesis: input.hypothesis ?? null,
          controlVariation: input.control,
          variations: input.variations.map((v) => ({ variation: v.variation, weight: v.weight })),
          coverage: input.coverage ?? EXPERIMENT_DEFAULTS.coverage,
          unitAttribute: input.unitAttribute ?? EXPERIMENT_DEFAULTS.unitAttribute,
          ruleId: input.rule ?? null,
          eventSources: input.eventSources ?? EXPERIMENT_DEFAULTS.eventSources,
          alpha: input.alpha ?? EXPERIMENT_DEFAULTS.alpha,
          createdBy: actorOf(w.principal),
        },
        input.metrics.map((m, position) => ({
          position,
          key: m.key,
          role: m.role,
          kind: m.kind,
          event: m.event,
          denominatorEvent: m.denominatorEvent ?? null,
          windowSeconds: m.windowSeconds ?? null,
          lowerIsBetter: m.lowerIsBetter ?? false,
        })),
      );
      const after = await this.view(tx, experiment, project, env);
      return { result: after, audit: { action: 'experiment.created', target: { type: 'experiment', key: experiment.key }, project: project.key, environment: env.key, after } };
    });
  }

  /** A project's experiments, oldest first, a page at a time. */
  async list(projectKey: string, page: PageRequest, filter: ExperimentListFilter = {}): Promise<{ items: ExperimentView[]; nextCursor: string | null }> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const envs = new Map((await r.environments.listAll(project.id)).map((e) => [e.id, e]));
    const environmentId = filter.environment !== undefined ? (await mustEnvironment(r, project, filter.environment)).id : undefined;
    const flagKey = filter.flag !== undefined ? (await mustFlag(r, project, filter.flag)).key : undefined;
    const rows = await r.experiments.list(project.id, page, { status: filter.status, environmentId, flagKey });
    const items: ExperimentView[] = [];
    for (const row of rows.items) items.push(await this.view(r, row, project, envs.get(row.environmentId)!));
    return { items, nextCursor: rows.nextCursor };
  }

  async get(projectKey: string, key: string): Promise<ExperimentView> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const experiment = await mustExperiment(r, project, key);
    return this.view(r, experiment, project, await environmentOf(r, experiment));
  }

  /**
   * Draft → running: remembers the flag's settings and writes the experiment's rollout into the
   * serve it takes over, now, as the caller. 409 when the flag already runs an experiment or has
   * an active release plan in the environment, or when the flag changed so that the experiment no
   * longer fits it (a variation or the rule gone). The flag may be off: it then serves its off
   * variation and nobody is exposed until it is turned on.
   */
  start(w: WriteContext, projectKey: string, key: string): Promise<ExperimentView> {
    return this.changes.write(withReason(w, `experiment ${key}: started`), async (tx) => {
      const l = await this.load(tx, projectKey, key, w);
      const { experiment, env, flag } = l;
      if (experiment.status !== 'draft') throw new ConflictError(`experiment "${key}" is ${experiment.status}; only a draft can be started`);
      if (flag.archived) throw new ConflictError(`flag "${flag.key}" is archived`);
      const running = await tx.experiments.findRunning(flag.id, env.id);
      if (running) throw new ConflictError(`experiment "${running.key}" is already running on flag "${flag.key}" in environment "${env.key}"; stop it first`);
      const plan = await tx.releasePlans.findActive(flag.id, env.id);
      if (plan) throw new ConflictError(`flag "${flag.key}" has a ${plan.status} release plan (${plan.id}) in environment "${env.key}"; complete or abort it first`);
      const current = settingsOf(await mustSettings(tx, flag, env, true));
      const known = new Set(flag.variations.map((v) => v.key));
      const missing = experiment.variations.map((v) => v.variation).filter((v) => !known.has(v));
      if (missing.length) throw new ConflictError(`flag "${flag.key}" no longer has the variation(s) ${missing.map((v) => `"${v}"`).join(', ')}; create a new experiment`);
      if (!serveAt(current, experiment.ruleId)) throw new ConflictError(`flag "${flag.key}" no longer has the rule "${experiment.ruleId}" in environment "${env.key}"; create a new experiment`);
      const before = await this.view(tx, experiment, l.project, env);
      const written = await this.flags.putSettingsIn(tx, w, l.project.key, flag.key, env.key, undefined, withServeAt(current, experiment.ruleId, { rollout: experimentRollout(experiment) }));
      Object.assign(experiment, { status: 'running', startedAt: this.now(), settingsBefore: current, version: experiment.version + 1 });
      return this.withFlagChange(tx, l, before, written, 'experiment.started');
    });
  }

  /**
   * Running → stopped, as the caller. `restore` puts back, in the serve the experiment took over,
   * the serve that was there before it started (every other setting stays as it is now; if that
   * serve no longer runs the experiment, someone replaced it and it is left alone); `variation`
   * serves that variation there. Aggregation goes on for late events (see ExperimentResults).
   */
  stop(w: WriteContext, projectKey: string, key: string, input: StopExperimentInput): Promise<ExperimentView> {
    const ctx: WriteContext = { ...w, reason: input.reason ?? w.reason ?? `experiment ${key}: stopped (${input.action})` };
    return this.changes.write(ctx, async (tx) => {
      const l = await this.load(tx, projectKey, key, w);
      const { experiment, env, flag } = l;
      const problems = stopProblems(input, new Set(flag.variations.map((v) => v.key)), flag.key);
      if (problems.length) throw new ValidationError('stop request is not valid', problems);
      if (experiment.status !== 'running') throw new ConflictError(`experiment "${key}" is ${experiment.status}; only a running experiment can be stopped`);
      const current = settingsOf(await mustSettings(tx, flag, env, true));
      const serve = serveAt(current, experiment.ruleId);
      let next: ServeV1 | null = null;
      if (input.action === 'variation') {
        if (!serve) throw new ConflictError(`flag "${flag.key}" no longer has the rule "${experiment.ruleId}" in environment "${env.key}": there is nowhere to serve "${input.variation}"; stop with action "restore"`);
        next = { variation: input.variation! };
      } else if (runsExperiment(serve, experiment.key)) {
        next = serveAt(experiment.settingsBefore!, experiment.ruleId) ?? null;
        const gone = next ? variationsOf(next).filter((v) => !flag.variations.some((fv) => fv.key === v)) : [];
        if (gone.length) throw new ConflictError(`the serve from before the experiment uses ${gone.map((v) => `"${v}"`).join(', ')}, which flag "${flag.key}" no longer has; stop with action "variation"`);
      }
      const before = await this.view(tx, experiment, l.project, env);
      const outcome: ExperimentOutcome = { action: input.action, ...(input.variation !== undefined ? { variation: input.variation } : {}), ...(input.reason !== undefined ? { reason: input.reason } : {}) };
      Object.assign(experiment, { status: 'stopped', stoppedAt: this.now(), outcome, version: experiment.version + 1 });
      const written = next ? await this.flags.putSettingsIn(tx, w, l.project.key, flag.key, env.key, undefined, withServeAt(current, experiment.ruleId, next)) : null;
      return this.withFlagChange(tx, l, before, written, 'experiment.stopped');
    });
  }

  /** The results view from the latest snapshot (`snapshot: null` before the first aggregation). */
  async results(projectKey: string, key: string): Promise<ExperimentResultsView> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const experiment = await mustExperiment(r, project, key);
    return presentExperimentResults(experiment, await r.experiments.metrics(experiment.id), await r.experiments.latestSnapshot(experiment.id), await assignmentProblemOf(r, experiment));
  }

  /** The results over time, oldest first: `limit` snapshots after the snapshot id `after`. */
  async history(projectKey: string, key: string, limit: number, after?: number): Promise<ExperimentHistoryPage> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const experiment = await mustExperiment(r, project, key);
    const rows = await r.experiments.snapshots(experiment.id, limit + 1, after);
    const page = rows.slice(0, limit);
    return { items: page.map(historyPoint), nextAfter: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  /**
   * Aggregates now and returns the fresh results; audited as `experiment.aggregated` (who asked,
   * which snapshot). 409 for a draft, and when another aggregation holds the experiment.
   */
  async aggregate(w: WriteContext, projectKey: string, key: string): Promise<ExperimentResultsView> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const found = await mustExperiment(r, project, key);
    if (found.status === 'draft') throw new ConflictError(`experiment "${key}" has not started: there is nothing to aggregate`);
    const made = await this.aggregator.aggregate(found.id, 'manual');
    if (!made) throw new ConflictError(`another aggregation of experiment "${key}" is running; its results will be as fresh: read them with GET …/experiments/${key}/results when it is done`);
    const snapshot = made;
    const experiment = await mustExperiment(r, project, key);
    const view = presentExperimentResults(experiment, await r.experiments.metrics(experiment.id), snapshot, await assignmentProblemOf(r, experiment));
    const env = await environmentOf(r, experiment);
    return this.changes.write(w, async () => ({
      result: view,
      audit: {
        action: 'experiment.aggregated',
        target: { type: 'experiment', key },
        project: project.key,
        environment: env.key,
        after: { snapshot: snapshot.id, watermark: snapshot.watermark.toISOString(), eventsRead: snapshot.eventsRead, units: view.units },
      },
    }));
  }

  /**
   * An experiment change that may carry a flag settings write: one audit record named after the
   * experiment's transition, holding its view and the flag's settings before and after, and the
   * flag write's stream changes.
   */
  private async withFlagChange(tx: Repositories, l: Loaded, before: ExperimentView, written: ChangeOutcome<unknown> | null, action: string): Promise<ChangeOutcome<ExperimentView>> {
    const saved = await tx.experiments.save(l.experiment);
    const after = await this.view(tx, saved, l.project, l.env);
    const flagChange = (side: 'before' | 'after') => (written?.audit ? { flag: l.flag.key, settings: written.audit[side] } : undefined);
    return {
      result: after,
      project: written?.project,
      environments: written?.environments,
      audit: {
        action,
        target: { type: 'experiment', key: saved.key },
        project: l.project.key,
        environment: l.env.key,
        before: { experiment: before, flagChange: flagChange('before') },
        after: { experiment: after, flagChange: flagChange('after') },
      },
    };
  }

  private async load(tx: Repositories, projectKey: string, key: string, w: WriteContext): Promise<Loaded> {
    const project = await mustProject(tx, projectKey);
    const experiment = await mustExperiment(tx, project, key, true);
    const env = await environmentOf(tx, experiment);
    assertMayChange(w, env);
    const flag = await mustFlag(tx, project, experiment.flagKey);
    return { experiment, project, env, flag };
  }

  private async view(r: Repositories, x: ExperimentEntity, project: ProjectEntity, env: EnvironmentEntity): Promise<ExperimentView> {
    const metrics = await r.experiments.metrics(x.id);
    return {
      id: x.id,
      key: x.key,
      name: x.name,
      hypothesis: x.hypothesis,
      project: project.key,
      environment: env.key,
      flag: x.flagKey,
      status: x.status,
      control: x.controlVariation,
      variations: x.variations,
      coverage: x.coverage,
      unitAttribute: x.unitAttribute,
      rule: x.ruleId,
      eventSources: x.eventSources,
      alpha: x.alpha,
      metrics: metrics.map(metricView),
      rollout: experimentRollout(x),
      startedAt: x.startedAt?.toISOString() ?? null,
      stoppedAt: x.stoppedAt?.toISOString() ?? null,
      settingsBefore: x.settingsBefore,
      outcome: x.outcome,
      watermark: x.watermark?.toISOString() ?? null,
      aggregatedAt: x.aggregatedAt?.toISOString() ?? null,
      version: x.version,
      createdBy: x.createdBy,
      createdAt: x.createdAt.toISOString(),
      updatedAt: x.updatedAt.toISOString(),
    };
  }
}

/** Problems of a stop request: `variation` given exactly with the action `variation`, and known to the flag. */
export function stopProblems(input: StopExperimentInput, variations: ReadonlySet<string>, flagKey: string): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (input.action !== 'restore' && input.action !== 'variation') out.push({ path: 'action', message: 'must be "restore" or "variation"' });
  if (input.action === 'variation') {
    if (input.variation === undefined) out.push({ path: 'variation', message: 'required with action "variation"' });
    else if (!variations.has(input.variation)) out.push({ path: 'variation', message: `flag "${flagKey}" has no variation "${input.variation}"` });
  } else if (input.variation !== undefined) {
    out.push({ path: 'variation', message: 'only with action "variation"' });
  }
  return out;
}

function metricView(m: ExperimentMetricEntity): ExperimentMetricView {
  return { key: m.key, role: m.role, kind: m.kind, event: m.event, denominatorEvent: m.denominatorEvent, windowSeconds: m.windowSeconds, lowerIsBetter: m.lowerIsBetter };
}

/** The caller's reason (the X-Flagstream-Reason header) or, failing that, what the experiment did. */
function withReason(w: WriteContext, fallback: string): WriteContext {
  return { ...w, reason: w.reason ?? fallback };
}

/** Protected environments: as for release plans, every experiment write there needs the owner role. */
function assertMayChange(w: WriteContext, env: EnvironmentEntity): void {
  if (env.protected && ROLE_RANK[w.principal.role] < ROLE_RANK.owner) {
    throw new ForbiddenError(`environment "${env.key}" is protected: experiments there need the owner role`);
  }
}

async function mustExperiment(r: Repositories, project: ProjectEntity, key: string, lock = false): Promise<ExperimentEntity> {
  const x = await r.experiments.findByKey(project.id, key, lock);
  if (!x) throw new NotFoundError(`experiment "${key}" does not exist in project "${project.key}"`);
  return x;
}

async function environmentOf(r: Repositories, x: ExperimentEntity): Promise<EnvironmentEntity> {
  const env = await r.environments.findById(x.environmentId);
  if (!env) throw new Error(`environment ${x.environmentId} of experiment ${x.id} is missing`);
  return env;
}

/** For a running experiment, why its units are not assigned as it says (see `assignmentProblem`). */
async function assignmentProblemOf(r: Repositories, x: ExperimentEntity): Promise<string | null> {
  if (x.status !== 'running') return null;
  const env = await environmentOf(r, x);
  const settings = await r.flags.findSettings(x.flagId, env.id);
  return settings ? assignmentProblem(x, settingsOf(settings), env.key) : null;
}

async function mustSettings(r: Repositories, flag: FlagEntity, env: EnvironmentEntity, lock = false) {
  const s = await r.flags.findSettings(flag.id, env.id, lock);
  // Created with the flag or the environment; absence means a broken invariant, not a client error.
  if (!s) throw new Error(`settings of flag ${flag.id} in environment ${env.id} are missing`);
  return s;
}
