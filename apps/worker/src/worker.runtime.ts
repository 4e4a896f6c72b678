import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ChangePublisher, ChangeRelay } from '@flagstream/change-feed';
import {
  bullPrefix,
  ChangeWriter,
  ConfigWrites,
  FlagWrites,
  RELEASE_PLANS_QUEUE,
  ReleasePlanQueue,
  ReleasePlans,
  releasePlanJobId,
  type PlanStepResult,
  type ReleasePlanJobData,
  SCHEDULED_CHANGES_QUEUE,
  ScheduledChangeQueue,
  ScheduledChanges,
  scheduledChangeJobId,
  type ApplyResult,
  type ScheduledChangeJobData,
  type ScheduledChangeJobPolicy,
  ALERTS_QUEUE,
  GUARDRAILS_QUEUE,
  SECRET_MAINTENANCE_QUEUE,
  EXPERIMENTS_QUEUE,
  ExperimentResults,
  type ExperimentPassReport,
  type ExperimentResultsOptions,
  SecretRotations,
  Secrets,
  SigningKeys,
  KekMaintenance,
  Certificates,
  type CertificatePassReport,
  type RewrapReport,
  type SigningKeyRotationReport,
} from '@flagstream/changes';
import type { EnvelopeCipher, KekProvider } from '@flagstream/crypto';
import { OutboxDrain, type PendingCursor, type Store } from '@flagstream/persistence';
import type { AlertSettings } from './alerts/alert.env';
import { DEFAULT_ALERT_JOB_POLICY } from './alerts/alert.queue';
import { AlertRuntime } from './alerts/alert.runtime';
import { ExperimentProcessor } from './experiments/experiment.processor';
import { GuardrailProcessor, type GuardrailPassReport } from './guardrails/guardrail.processor';
import { ReleasePlanProcessor } from './release-plans/release-plan.processor';
import { RotationProcessor } from './rotation/rotation.processor';
import { webhookRotator } from './rotation/webhook.rotator';
import { ScheduledChangeProcessor } from './scheduling/scheduled-change.processor';
import { WorkerMetrics } from './worker.metrics';

export interface WorkerConfig {
  /** REDIS_KEY_PREFIX: the queue's keys live under it (tests give each file its own). */
  keyPrefix: string;
  concurrency: number;
  /** How often every pending change is re-enqueued from Postgres (also done at start). */
  sweepMs: number;
  jobPolicy: ScheduledChangeJobPolicy;
  changeStreamMaxLen: number;
  /** The relay's safety poll of the outbox (writes kick it right after commit). */
  relayPollMs: number;
  /** BullMQ lock of a running job; a worker that dies holding it frees the job after this long. */
  lockDurationMs?: number;
  /** How often BullMQ looks for jobs whose worker died (stalled), to run them again. */
  stalledIntervalMs?: number;
  /** How often running plans' guardrails are evaluated (one pass per period across all workers). */
  guardrailIntervalMs?: number;
  /** The alert webhook and its retry policy (`alertSettingsFrom(env)`); absent: alerts are only logged. */
  alerts?: AlertSettings;
  /** How often due secret rotations run (one pass per period across all workers). */
  rotationIntervalMs?: number;
  /** How often running experiments are aggregated (one pass per period across all workers). */
  experimentIntervalMs?: number;
  /** Settle time of experiment aggregations (EXPERIMENT_SETTLE_SECONDS). */
  experimentResults?: ExperimentResultsOptions;
}

export interface WorkerDeps {
  /** Opened with the audit key: the worker appends the audit records of what it applies. */
  store: Store;
  /** Commands: the queue (enqueue, counts) and the change publisher. */
  redis: Redis;
  /** `maxRetriesPerRequest: null`: BullMQ's worker connection (it duplicates it for blocking reads). */
  blockingRedis: Redis;
  logger: Logger;
  registry: Registry;
  config: WorkerConfig;
  /** The envelope cipher of secrets (the KEK): without it, secret rotations do not run. */
  secretCipher?: EnvelopeCipher;
  /** The keyring behind `secretCipher`: with it, the worker rewraps stored ciphertexts under its current version. */
  kekProvider?: KekProvider;
}

export interface SweepReport {
  /** Pending changes found in Postgres (each has its job now, unless Redis failed). */
  pending: number;
  /** Failed jobs (retries exhausted) of still-pending changes, moved back to waiting. */
  retried: number;
  /** Running release plans with a timed transition (each has its job now, unless Redis failed). */
  plans?: number;
}

const SWEEP_PAGE = 500;
/** The id of the guardrail evaluation's job scheduler (one repeating job per Redis prefix). */
const GUARDRAIL_SCHEDULER_ID = 'guardrails-every';
export const DEFAULT_GUARDRAIL_INTERVAL_MS = 60_000;
export const DEFAULT_ROTATION_INTERVAL_MS = 60_000;
export const DEFAULT_EXPERIMENT_INTERVAL_MS = 15 * 60_000;
const EXPERIMENT_SCHEDULER_ID = 'experiments-every';
const ROTATION_SCHEDULER_ID = 'secret-rotations-every';
const SIGNING_KEY_SCHEDULER_ID = 'signing-keys-every';
const SIGNING_KEY_JOB = 'rotate-signing-keys';
const REWRAP_SCHEDULER_ID = 'kek-rewrap-every';
const CERTIFICATE_SCHEDULER_ID = 'certificates-every';
const CERTIFICATE_JOB = 'certificates';
const REWRAP_JOB = 'rewrap';
/** Ciphertexts one rewrap job moves (the next job continues). */
const REWRAP_BATCH = 500;

/**
 * The worker process's jobs, startable and stoppable in-process (tests run several at once). It
 * applies scheduled changes from a BullMQ queue, sweeps Postgres for pending changes at start
 * and every `sweepMs` (so jobs lost with Redis's data come back), and publishes the outbox rows
 * its writes add through its own change relay.
 */
export class WorkerRuntime {
  readonly queue: ScheduledChangeQueue;
  readonly schedules: ScheduledChanges;
  readonly planQueue: ReleasePlanQueue;
  readonly plans: ReleasePlans;
  readonly metrics: WorkerMetrics;
  private readonly relay: ChangeRelay;
  private readonly processor: ScheduledChangeProcessor;
  private worker: Worker<ScheduledChangeJobData, ApplyResult> | null = null;
  private readonly planProcessor: ReleasePlanProcessor;
  private planWorker: Worker<ReleasePlanJobData, PlanStepResult> | null = null;
  readonly alerts: AlertRuntime;
  readonly guardrailQueue: Queue;
  private readonly guardrailProcessor: GuardrailProcessor;
  private guardrailWorker: Worker<Record<string, never>, GuardrailPassReport> | null = null;
  readonly experimentQueue: Queue;
  readonly experiments: ExperimentResults;
  private readonly experimentProcessor: ExperimentProcessor;
  private experimentWorker: Worker<Record<string, never>, ExperimentPassReport> | null = null;
  readonly maintenanceQueue: Queue;
  readonly rotations: SecretRotations | null;
  readonly signingKeys: SigningKeys;
  readonly kek: KekMaintenance | null;
  readonly certificates: Certificates;
  private readonly rotationProcessor: RotationProcessor | null;
  private maintenanceWorker: Worker<Record<string, never>, unknown> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<SweepReport> | null = null;
  private closing: Promise<void> | null = null;

  constructor(readonly deps: WorkerDeps) {
    const { store, redis, config, logger } = deps;
    this.relay = new ChangeRelay(new OutboxDrain(store), new ChangePublisher(redis, { keyPrefix: config.keyPrefix, maxLen: config.changeStreamMaxLen }), {
      batchSize: 500,
      pollIntervalMs: config.relayPollMs,
      onError: (err) => logger.error({ err }, 'change relay pass failed; will retry'),
    });
    const changes = new ChangeWriter(store, this.relay);
    this.queue = new ScheduledChangeQueue(redis, config.keyPrefix, config.jobPolicy);
    const flags = new FlagWrites(store, changes);
    this.schedules = new ScheduledChanges(store, changes, flags, new ConfigWrites(store), this.queue);
    this.planQueue = new ReleasePlanQueue(redis, config.keyPrefix, config.jobPolicy);
    this.plans = new ReleasePlans(store, changes, flags, this.planQueue, {
      onQueueError: (err) => logger.warn({ err }, 'release plan step applied but its next job could not be queued; the sweep will queue it'),
    });
    this.alerts = new AlertRuntime({
      redis,
      blockingRedis: deps.blockingRedis,
      logger,
      registry: deps.registry,
      keyPrefix: config.keyPrefix,
      concurrency: config.concurrency,
      settings: config.alerts ?? { webhook: null, policy: DEFAULT_ALERT_JOB_POLICY },
    });
    this.guardrailQueue = new Queue(GUARDRAILS_QUEUE, { connection: redis, prefix: bullPrefix(config.keyPrefix) });
    this.maintenanceQueue = new Queue(SECRET_MAINTENANCE_QUEUE, { connection: redis, prefix: bullPrefix(config.keyPrefix) });
    this.experimentQueue = new Queue(EXPERIMENTS_QUEUE, { connection: redis, prefix: bullPrefix(config.keyPrefix) });
    this.experiments = new ExperimentResults(store, config.experimentResults);
    this.rotations = deps.secretCipher ? new SecretRotations(store, changes, new Secrets(store, changes, deps.secretCipher)) : null;
    // Activating and retiring need no KEK; generating a key does (reported as a failed step without one).
    this.signingKeys = new SigningKeys(store, changes, deps.secretCipher ?? null);
    this.kek = deps.secretCipher && deps.kekProvider ? new KekMaintenance(store, changes, deps.secretCipher, deps.kekProvider) : null;
    // Expiry alerts need no KEK; renewals and publications do (skipped, and reported, without one).
    this.certificates = new Certificates(store, changes, deps.secretCipher ?? null, new Secrets(store, changes, deps.secretCipher ?? null));
    this.metrics = new WorkerMetrics(deps.registry, [
      { name: ALERTS_QUEUE, counts: () => this.alerts.queue.queue.getJobCounts('waiting', 'delayed', 'active', 'failed') },
      { name: GUARDRAILS_QUEUE, counts: () => this.guardrailQueue.getJobCounts('waiting', 'delayed', 'active', 'failed') },
      { name: SECRET_MAINTENANCE_QUEUE, counts: () => this.maintenanceQueue.getJobCounts('waiting', 'delayed', 'active', 'failed') },
      { name: EXPERIMENTS_QUEUE, counts: () => this.experimentQueue.getJobCounts('waiting', 'delayed', 'active', 'failed') },
      {
        name: SCHEDULED_CHANGES_QUEUE,
        counts: () => this.queue.queue.getJobCounts('waiting', 'delayed', 'active', 'failed'),
      },
      {
        name: RELEASE_PLANS_QUEUE,
        counts: () => this.planQueue.queue.getJobCounts('waiting', 'delayed', 'active', 'failed'),
      },
    ]);
    this.processor = new ScheduledChangeProcessor(this.schedules, this.metrics, logger);
    this.planProcessor = new ReleasePlanProcessor(this.plans, this.metrics, logger);
    this.guardrailProcessor = new GuardrailProcessor(this.plans, this.alerts.queue, this.metrics, logger);
    this.experimentProcessor = new ExperimentProcessor(this.experiments, this.metrics, logger);
    this.rotationProcessor = this.rotations ? new RotationProcessor(this.rotations, webhookRotator(), this.alerts.queue, this.metrics, logger) : null;
  }

  /** Starts the relay and the BullMQ worker, then sweeps once (jobs lost with Redis come back now). */
  async start(): Promise<void> {
    const { config, logger } = this.deps;
    this.relay.start();
    this.worker = new Worker<ScheduledChangeJobData, ApplyResult>(SCHEDULED_CHANGES_QUEUE, (job, token) => this.processor.process(job, token), {
      connection: this.deps.blockingRedis,
      prefix: bullPrefix(config.keyPrefix),
      concurrency: config.concurrency,
      ...(config.lockDurationMs ? { lockDuration: config.lockDurationMs } : {}),
      ...(config.stalledIntervalMs ? { stalledInterval: config.stalledIntervalMs } : {}),
    });
    this.worker.on('error', (err) => logger.error({ err }, 'scheduled-change worker error'));
    this.planWorker = new Worker<ReleasePlanJobData, PlanStepResult>(RELEASE_PLANS_QUEUE, (job, token) => this.planProcessor.process(job, token), {
      connection: this.deps.blockingRedis,
      prefix: bullPrefix(config.keyPrefix),
      concurrency: config.concurrency,
      ...(config.lockDurationMs ? { lockDuration: config.lockDurationMs } : {}),
      ...(config.stalledIntervalMs ? { stalledInterval: config.stalledIntervalMs } : {}),
    });
    this.planWorker.on('error', (err) => logger.error({ err }, 'release-plan worker error'));
    this.alerts.start();
    // One evaluation pass per period whichever worker takes it (upserting the scheduler is idempotent).
    await this.guardrailQueue.upsertJobScheduler(
      GUARDRAIL_SCHEDULER_ID,
      { every: config.guardrailIntervalMs ?? DEFAULT_GUARDRAIL_INTERVAL_MS },
      { name: 'evaluate', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { age: 7 * 24 * 3600, count: 1000 } } },
    );
    this.guardrailWorker = new Worker<Record<string, never>, GuardrailPassReport>(GUARDRAILS_QUEUE, (job) => this.guardrailProcessor.process(job.id ?? null), {
      connection: this.deps.blockingRedis,
      prefix: bullPrefix(config.keyPrefix),
      concurrency: 1,
      ...(config.lockDurationMs ? { lockDuration: config.lockDurationMs } : {}),
      ...(config.stalledIntervalMs ? { stalledInterval: config.stalledIntervalMs } : {}),
    });
    this.guardrailWorker.on('error', (err) => logger.error({ err }, 'guardrail worker error'));
    await this.experimentQueue.upsertJobScheduler(
      EXPERIMENT_SCHEDULER_ID,
      { every: config.experimentIntervalMs ?? DEFAULT_EXPERIMENT_INTERVAL_MS },
      { name: 'aggregate', data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { age: 7 * 24 * 3600, count: 1000 } } },
    );
    // Concurrency 1: a pass already walks every experiment; two at once would only skip each other's locks.
    this.experimentWorker = new Worker<Record<string, never>, ExperimentPassReport>(EXPERIMENTS_QUEUE, () => this.experimentProcessor.process(), {
      connection: this.deps.blockingRedis,
      prefix: bullPrefix(config.keyPrefix),
      concurrency: 1,
      ...(config.lockDurationMs ? { lockDuration: config.lockDurationMs } : {}),
      ...(config.stalledIntervalMs ? { stalledInterval: config.stalledIntervalMs } : {}),
    });
    this.experimentWorker.on('error', (err) => logger.error({ err }, 'experiment worker error'));
    // Two repeating passes on one queue: secret rotations and signing key rotations.
    const maintenanceJob = { data: {}, opts: { removeOnComplete: { count: 100 }, removeOnFail: { age: 7 * 24 * 3600, count: 1000 } } };
    const every = { every: config.rotationIntervalMs ?? DEFAULT_ROTATION_INTERVAL_MS };
    await this.maintenanceQueue.upsertJobScheduler(SIGNING_KEY_SCHEDULER_ID, every, { name: SIGNING_KEY_JOB, ...maintenanceJob });
    await this.maintenanceQueue.upsertJobScheduler(CERTIFICATE_SCHEDULER_ID, every, { name: CERTIFICATE_JOB, ...maintenanceJob });
    if (this.rotationProcessor) await this.maintenanceQueue.upsertJobScheduler(ROTATION_SCHEDULER_ID, every, { name: 'rotate-secrets', ...maintenanceJob });
    if (this.kek) await this.maintenanceQueue.upsertJobScheduler(REWRAP_SCHEDULER_ID, every, { name: REWRAP_JOB, ...maintenanceJob });
    else logger.info('secret rotations do not run on this worker: it has no key-encryption key (FLAGSTREAM_KEK); give every worker the KEK');
    this.maintenanceWorker = new Worker<Record<string, never>, unknown>(
      SECRET_MAINTENANCE_QUEUE,
      (job) =>
        job.name === SIGNING_KEY_JOB
          ? this.runSigningKeyPass(job.id ?? null)
          : job.name === REWRAP_JOB
            ? this.runRewrap()
            : job.name === CERTIFICATE_JOB
              ? this.runCertificatePass(job.id ?? null)
              : (this.rotationProcessor?.process() ?? Promise.resolve({ skipped: 'no KEK on this worker' })),
      {
        connection: this.deps.blockingRedis,
        prefix: bullPrefix(config.keyPrefix),
        concurrency: 1,
        ...(config.lockDurationMs ? { lockDuration: config.lockDurationMs } : {}),
        ...(config.stalledIntervalMs ? { stalledInterval: config.stalledIntervalMs } : {}),
      },
    );
    this.maintenanceWorker.on('error', (err) => logger.error({ err }, 'secret maintenance worker error'));
    await this.sweepSafely();
    this.schedule();
  }

  /** True while the BullMQ worker takes jobs (the readiness check). */
  get running(): boolean {
    return (
      this.worker !== null &&
      this.worker.isRunning() &&
      this.planWorker !== null &&
      this.planWorker.isRunning() &&
      this.guardrailWorker !== null &&
      this.guardrailWorker.isRunning() &&
      this.experimentWorker !== null &&
      this.experimentWorker.isRunning() &&
      this.alerts.running &&
      !this.closing
    );
  }

  /**
   * Re-enqueues every pending change under its deterministic job id: jobs that exist stay as they
   * are, missing ones are added, and failed ones of still-pending changes are retried.
   */
  sweep(): Promise<SweepReport> {
    this.sweeping ??= this.runSweep().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /**
   * Graceful stop (SIGTERM): no more sweeps or new jobs; the jobs running now finish (their
   * transaction commits or rolls back) before it resolves; then the relay publishes what they wrote.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      await this.sweeping?.catch(() => undefined);
      await this.worker?.close();
      await this.planWorker?.close();
      await this.guardrailWorker?.close();
      await this.experimentWorker?.close();
      await this.maintenanceWorker?.close();
      // After everything that emits alerts: the delivery in flight finishes.
      await this.alerts.close();
      await this.relay.drain().catch((err: unknown) => this.deps.logger.warn({ err }, 'last relay pass failed; the admin relay will publish'));
      await this.relay.stop();
      await this.queue.close();
      await this.planQueue.close();
      await this.guardrailQueue.close();
      await this.experimentQueue.close();
      await this.maintenanceQueue.close();
    })();
    return this.closing;
  }

  /** One rewrap batch: ciphertexts under older KEK versions move to the current one (no plaintext leaves libs/crypto). */
  private async runRewrap(): Promise<RewrapReport | { skipped: string }> {
    if (!this.kek) return { skipped: 'no KEK on this worker' };
    const end = this.metrics.duration.startTimer({ queue: SECRET_MAINTENANCE_QUEUE });
    const report = await this.kek.rewrapBatch(REWRAP_BATCH);
    if (report.rewrapped) this.deps.logger.info({ toVersion: report.toVersion, rewrapped: report.rewrapped }, 'ciphertexts rewrapped under the current key version');
    for (const f of report.failed) {
      this.metrics.failures.inc({ queue: SECRET_MAINTENANCE_QUEUE, reason: 'rewrap' });
      this.deps.logger.error(f, 'a ciphertext could not be rewrapped');
    }
    end({ outcome: report.failed.length ? 'failed' : 'applied' });
    return report;
  }

  /** One certificate pass: due renewals, unfinished publications, and expiry alerts sent through the alert queue. */
  private async runCertificatePass(jobId: string | null): Promise<CertificatePassReport> {
    const end = this.metrics.duration.startTimer({ queue: SECRET_MAINTENANCE_QUEUE });
    const report = await this.certificates.runDue(new Date(), jobId);
    for (const r of report.renewed) this.deps.logger.info(r, 'certificate renewed');
    for (const p of report.published) this.deps.logger.info(p, 'certificate version published to its secret');
    for (const f of [...report.renewalFailures, ...report.publishFailures]) {
      this.metrics.failures.inc({ queue: SECRET_MAINTENANCE_QUEUE, reason: 'certificate' });
      this.deps.logger.warn(f, 'certificate renewal or publication failed; the next pass tries again');
    }
    if (report.skipped) this.deps.logger.debug(report.skipped);
    for (const alert of report.alerts) {
      try {
        await this.alerts.queue.emit(alert);
      } catch (err) {
        this.deps.logger.error({ err, alert: alert.id }, 'a certificate expiry alert could not be queued');
      }
    }
    end({ outcome: report.renewalFailures.length || report.publishFailures.length ? 'failed' : 'applied' });
    return report;
  }

  /** One scheduled signing-key pass (generate, activate, retire what is due); failed steps are reported, not thrown. */
  private async runSigningKeyPass(jobId: string | null): Promise<SigningKeyRotationReport> {
    const end = this.metrics.duration.startTimer({ queue: SECRET_MAINTENANCE_QUEUE });
    const report = await this.signingKeys.runDueSigningKeyRotations(new Date(), jobId);
    for (const k of [...report.generated, ...report.activated, ...report.retired]) this.deps.logger.info(k, 'scheduled signing key step applied');
    for (const f of report.failures) {
      this.metrics.failures.inc({ queue: SECRET_MAINTENANCE_QUEUE, reason: 'signing-key' });
      this.deps.logger.warn(f, 'scheduled signing key step failed; the next pass tries again');
    }
    end({ outcome: report.failures.length ? 'failed' : 'applied' });
    return report;
  }

  private schedule(): void {
    if (this.closing) return;
    this.timer = setTimeout(() => {
      void this.sweepSafely().finally(() => this.schedule());
    }, this.deps.config.sweepMs);
    this.timer.unref();
  }

  private async sweepSafely(): Promise<void> {
    try {
      const report = await this.sweep();
      this.metrics.sweeps.inc({ outcome: 'ok' });
      if (report.retried) this.deps.logger.info(report, 'sweep retried failed jobs of pending scheduled changes');
    } catch (err) {
      this.metrics.sweeps.inc({ outcome: 'error' });
      this.deps.logger.error({ err }, 'sweep of pending scheduled changes failed; will retry');
    }
  }

  private async runSweep(): Promise<SweepReport> {
    const read = this.deps.store.read.scheduledChanges;
    const jobIds = new Set<string>();
    let after: PendingCursor | undefined;
    for (;;) {
      const rows = await read.listPending(SWEEP_PAGE, after);
      await this.queue.enqueue(rows.map((r) => ({ id: r.id, version: r.version, runAt: r.runAt })));
      for (const r of rows) jobIds.add(scheduledChangeJobId(r.id, r.version));
      if (rows.length < SWEEP_PAGE) break;
      const last = rows[rows.length - 1];
      after = { runAt: last.runAt, id: last.id };
    }
    this.metrics.pending.set(jobIds.size);
    const retried = await this.queue.retryFailed(jobIds);
    const planJobs = await this.sweepPlans();
    return { pending: jobIds.size, retried: retried + (await this.planQueue.retryFailed(planJobs)), plans: planJobs.size };
  }

  /** Re-enqueues the timed transition of every running plan (deterministic ids: existing jobs stay). */
  private async sweepPlans(): Promise<Set<string>> {
    const jobIds = new Set<string>();
    let after: { nextTransitionAt: Date; id: string } | undefined;
    for (;;) {
      const refs = await this.plans.timedTransitions(SWEEP_PAGE, after);
      await this.planQueue.enqueue(refs);
      for (const r of refs) jobIds.add(releasePlanJobId(r.id, r.milestone, r.version));
      if (refs.length < SWEEP_PAGE) break;
      const last = refs[refs.length - 1];
      after = { nextTransitionAt: last.at, id: last.id };
    }
    return jobIds;
  }
}

/** The worker's runtime: construct, `start()`, and `close()` on SIGTERM. */
export function createWorkerRuntime(deps: WorkerDeps): WorkerRuntime {
  return new WorkerRuntime(deps);
}
