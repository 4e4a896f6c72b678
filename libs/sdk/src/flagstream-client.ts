import {
  SDK_STREAM_VERSION,
  StateReplica,
  itemHash,
  type EvaluationErrorCode,
  type EvaluationReason,
  type FlagKind,
  type PatchMessageV1,
  type SnapshotMessageV1,
} from '@flagstream/protocol';
import { compileConfigSnapshot, type CompiledConfigSnapshot, type ConfigEvaluation, type ConfigReason } from '@flagstream/config';
import { compile, type EnvironmentEvaluator } from '@flagstream/targeting';
import { Backoff, type BackoffOptions } from './backoff';
import { Emitter } from './emitter';
import { ExposureReporter, type ExposureOptions } from './exposure.reporter';
import { FetchSseTransport, StreamHttpError, type StreamEvent, type StreamTransport } from './transport';

/** The evaluation context: attributes of the user, tenant, device… `targetingKey` identifies it. */
export type EvaluationContext = Record<string, unknown>;

/** Why the client could not evaluate: the engine's codes plus `PROVIDER_NOT_READY`. */
export type ErrorCode = EvaluationErrorCode | 'PROVIDER_NOT_READY';

/** A value with how it was decided. */
export interface EvaluationDetail<T> {
  value: T;
  /** The variation served (absent on errors). */
  variation?: string;
  reason: EvaluationReason;
  /** The rule that matched, for TARGETING_MATCH (and SPLIT from a rule). */
  ruleId?: string;
  errorCode?: ErrorCode;
  errorMessage?: string;
}

/** A config value with how it was decided. */
export interface ConfigDetail<T> {
  value: T;
  /** DEFAULT: the project default; STATIC: an environment's value; TARGETING_MATCH: a tenant or targeted override; ERROR: `defaultValue` was returned. */
  reason: ConfigReason | 'ERROR';
  /** The strongest layer that contributed. */
  source?: NonNullable<ConfigEvaluation['source']>;
  /** The item's version. */
  version?: number;
  errorCode?: 'PROVIDER_NOT_READY' | 'FLAG_NOT_FOUND' | 'GENERAL';
  errorMessage?: string;
}

/** Where the last good snapshot is kept between runs (see `FileSnapshotCache` for Node). */
export interface SnapshotCache {
  /**
   * The last saved snapshot, or `null` when there is none. A cache that finds a stored snapshot
   * unusable returns `null` and passes the reason to `report` (the client emits it as a non-fatal
   * `error`); a rejection is reported the same way.
   */
  load(report?: (error: Error) => void): Promise<SnapshotMessageV1 | null>;
  /** Stores the client's current state (called after snapshots, after patches at most once per `cacheSaveIntervalMs`, and on `close()`). */
  save(snapshot: SnapshotMessageV1): Promise<void>;
}

export interface FlagstreamClientOptions {
  /** A server SDK key (`fs_server_…`). */
  sdkKey: string;
  /** The gateway, e.g. `http://localhost:4001`. */
  baseUrl: string;
  /** A snapshot to start from before the network answers (offline start). */
  bootstrap?: SnapshotMessageV1;
  /**
   * Loads the last good snapshot at start (before the network answers; the client then resumes
   * from its revision) and keeps it current: it saves each snapshot from the gateway, its state
   * after patches (at most once per `cacheSaveIntervalMs`), and its state on `close()`.
   */
  cache?: SnapshotCache;
  /** The least time between two saves of the state after patches. Default 1000 ms. */
  cacheSaveIntervalMs?: number;
  /** Reconnection backoff. */
  backoff?: BackoffOptions;
  /** Acknowledge applied revisions for the gateway's propagation receipts. Default true. */
  acknowledge?: boolean;
  /**
   * Replaces the SSE-over-fetch transport: `new SocketIoTransport({ baseUrl, sdkKey })` from
   * `@flagstream/sdk/socket-io`, or a test fake.
   */
  transport?: StreamTransport;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Reports each evaluation of an existing flag by a getter (not errors) to `send`, in batches,
   * through a bounded queue. Off when absent.
   */
  exposures?: ExposureOptions;
}

/** The events of `FlagstreamClient` and their arguments (`client.on(name, listener)`). */
export type FlagstreamClientEvents = {
  /** The first state is available (from the network, the cache or the bootstrap). */
  ready: [];
  /** A stream to the gateway opened (after `disconnected`, the client is current again once it has caught up). */
  connected: [];
  /**
   * The stream ended (`null`: closed by the gateway, or reopened on purpose to resume after a gap)
   * or failed (the error), or the first attempt failed. The client keeps serving its last state
   * while it reconnects. Fires once per loss: not again for each failed retry (those are `error`s).
   */
  disconnected: [error: Error | null];
  /** Flags whose definition changed (upserted, deleted, or using a changed segment). */
  change: [keys: string[]];
  /** Config items that changed (upserted or deleted). */
  configChange: [keys: string[]];
  /** A revision was applied. */
  revision: [revision: number];
  /** Something went wrong; the client keeps retrying unless `fatal`. */
  error: [error: Error, fatal: boolean];
};

/** The SDK key was refused (401/403): the client stops instead of hammering the gateway. */
export class FlagstreamAuthError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'FlagstreamAuthError';
  }
}

/**
 * A server-side Flagstream client: follows the gateway's stream for one environment and evaluates
 * flags locally, with no network round trip. Getters never throw: on any problem they return the
 * default with reason `ERROR`.
 */
export class FlagstreamClient extends Emitter<FlagstreamClientEvents> {
  private readonly replica = new StateReplica();
  private evaluator: EnvironmentEvaluator | null = null;
  private compiledConfigs: { revision: number; items: Map<string, CompiledConfigSnapshot> } | null = null;
  private readonly transport: StreamTransport;
  private readonly backoff: Backoff;
  private connection: AbortController | null = null;
  private closed = false;
  private fatal: Error | null = null;
  private haveState = false;
  /** Take a fresh snapshot on the next connection (the state is in doubt). */
  private resync = false;
  /** The next reconnect goes at once (a gap, not a failure). */
  private immediate = false;
  private link: 'initial' | 'connected' | 'disconnected' = 'initial';
  /** The environment of the state held (patches do not carry it). */
  private environment = '';
  /** The state changed since the cache was last saved. */
  private dirty = false;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly saves = new Set<Promise<void>>();
  private readonly exposures: ExposureReporter | null;
  private readonly readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private loop: Promise<void> | null = null;
  private sleepTimer: ReturnType<typeof setTimeout> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: FlagstreamClientOptions) {
    super();
    this.transport = options.transport ?? new FetchSseTransport({ baseUrl: options.baseUrl, sdkKey: options.sdkKey, fetch: options.fetch });
    this.backoff = new Backoff(options.backoff);
    this.exposures = options.exposures ? new ExposureReporter(options.exposures, (e) => this.emit('error', e, false)) : null;
    if (options.bootstrap) this.applySnapshot(options.bootstrap, false);
    // Start after the constructor returns, so listeners attached right after `new` see every event.
    this.loop = Promise.resolve().then(() => this.run());
  }

  /** The revision the client holds (0 before any state). */
  get revision(): number {
    return this.replica.revision;
  }

  /** Whether the client has a state to evaluate (from the network, cache or bootstrap). */
  get isReady(): boolean {
    return this.haveState;
  }

  /** Exposures not delivered (queue overflow, failed batches, or unsent at `close()`); 0 without `exposures`. */
  get droppedExposures(): number {
    return this.exposures?.dropped ?? 0;
  }

  /**
   * Resolves once the client has a state (the first snapshot, or the cached/bootstrap one).
   * Rejects after `timeoutMs` (default 5 s) or when the key is refused.
   */
  ready(timeoutMs = 5000): Promise<void> {
    if (this.haveState) return Promise.resolve();
    if (this.fatal) return Promise.reject(this.fatal);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Flagstream client not ready after ${timeoutMs} ms`)), timeoutMs);
      this.readyWaiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** The boolean value of a flag for a context, or `defaultValue`. */
  boolean(key: string, context: EvaluationContext, defaultValue: boolean): boolean {
    return this.booleanDetail(key, context, defaultValue).value;
  }
  /** The string value of a flag for a context, or `defaultValue`. */
  string(key: string, context: EvaluationContext, defaultValue: string): string {
    return this.stringDetail(key, context, defaultValue).value;
  }
  /** The number value of a flag for a context, or `defaultValue`. */
  number(key: string, context: EvaluationContext, defaultValue: number): number {
    return this.numberDetail(key, context, defaultValue).value;
  }
  /** The JSON value of a flag for a context, or `defaultValue`. */
  json<T = unknown>(key: string, context: EvaluationContext, defaultValue: T): T {
    return this.jsonDetail(key, context, defaultValue).value;
  }
  /** The value with its variation, reason and rule. */
  booleanDetail(key: string, context: EvaluationContext, defaultValue: boolean): EvaluationDetail<boolean> {
    return this.detail(key, context, defaultValue, 'boolean', true);
  }
  stringDetail(key: string, context: EvaluationContext, defaultValue: string): EvaluationDetail<string> {
    return this.detail(key, context, defaultValue, 'string', true);
  }
  numberDetail(key: string, context: EvaluationContext, defaultValue: number): EvaluationDetail<number> {
    return this.detail(key, context, defaultValue, 'number', true);
  }
  jsonDetail<T = unknown>(key: string, context: EvaluationContext, defaultValue: T): EvaluationDetail<T> {
    return this.detail(key, context, defaultValue, 'json', true);
  }

  /**
   * The effective value of a config item for a context (its tenant is the context attribute the
   * project names, `tenantId` by default), resolved locally through the layers the environment
   * received; `defaultValue` when the item is missing or the client has no state yet.
   */
  config<T = unknown>(key: string, context: EvaluationContext, defaultValue: T): T {
    return this.configDetail(key, context, defaultValue).value;
  }

  /** The config value with where it came from (reason, source layer, item version). */
  configDetail<T = unknown>(key: string, context: EvaluationContext, defaultValue: T): ConfigDetail<T> {
    try {
      if (!this.haveState) return { value: defaultValue, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: 'the client has no state yet' };
      const item = this.configItems().get(key);
      if (!item) return { value: defaultValue, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `config item "${key}" was not found` };
      const r = item.evaluate(context);
      if (!r.found) return { value: defaultValue, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `config item "${key}" has no value in this environment` };
      const out: ConfigDetail<T> = { value: r.value as T, reason: r.reason, version: r.version };
      if (r.source) out.source = r.source;
      return out;
    } catch (e) {
      return { value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: String(e) };
    }
  }

  /**
   * Calls `listener` whenever the effective value of config item `key` for `context` changes.
   * Returns a function that stops it.
   */
  onConfigChange<T = unknown>(key: string, context: EvaluationContext, listener: (value: T | undefined, previous: T | undefined) => void): () => void {
    const read = () => this.configDetail<unknown>(key, context, undefined);
    let last = this.haveState ? read() : undefined;
    return this.on('configChange', () => {
      const now = read();
      if (last && JSON.stringify(last.value) === JSON.stringify(now.value)) return;
      const previous = last?.value as T | undefined;
      last = now;
      listener(now.value as T | undefined, previous);
    });
  }

  /** Config items compiled for evaluation, once per revision. */
  private configItems(): ReadonlyMap<string, CompiledConfigSnapshot> {
    if (this.compiledConfigs?.revision !== this.replica.revision) {
      const segments = this.replica.segments();
      this.compiledConfigs = { revision: this.replica.revision, items: new Map(this.replica.configs().map((c) => [c.key, compileConfigSnapshot(c, segments)])) };
    }
    return this.compiledConfigs.items;
  }

  /**
   * Calls `listener` whenever the value of `key` for `context` changes (not on every change of
   * the flag). Returns a function that stops it.
   */
  onValueChange<T = unknown>(key: string, context: EvaluationContext, listener: (value: T, previous: T | undefined) => void): () => void {
    let last = this.haveState ? this.detail<unknown>(key, context, undefined, undefined, false) : undefined;
    return this.on('change', () => {
      const now = this.detail<unknown>(key, context, undefined, undefined, false);
      if (last && sameResult(last, now)) return;
      const previous = last?.value as T | undefined;
      last = now;
      listener(now.value as T, previous);
    });
  }

  /**
   * Stops streaming and releases everything: saves the current state to the cache if it changed
   * since the last save, sends queued exposures (waiting at most their `closeTimeoutMs`), and
   * rejects pending `ready()` calls. Afterwards nothing of the client keeps the process alive;
   * getters keep answering from the last state.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.connection?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.loop;
    this.saveNow();
    await Promise.all([...this.saves]);
    await this.exposures?.close();
    for (const w of this.readyWaiters.splice(0)) w.reject(new Error('Flagstream client closed'));
    this.removeAllListeners();
  }

  private detail<T>(key: string, context: EvaluationContext, defaultValue: T, kind: FlagKind | undefined, expose: boolean): EvaluationDetail<T> {
    let out: EvaluationDetail<T>;
    try {
      if (!this.evaluator) return { value: defaultValue, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: 'the client has no flags yet' };
      const r = this.evaluator.evaluate(key, context, { kind, defaultValue });
      out = { value: (r.reason === 'ERROR' ? defaultValue : r.value) as T, reason: r.reason };
      if (r.variation !== undefined) out.variation = r.variation;
      if (r.ruleId !== undefined) out.ruleId = r.ruleId;
      if (r.errorCode !== undefined) out.errorCode = r.errorCode;
      if (r.errorMessage !== undefined) out.errorMessage = r.errorMessage;
    } catch (e) {
      return { value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: String(e) };
    }
    if (expose && this.exposures && out.reason !== 'ERROR') {
      try {
        const targetingKey = context?.targetingKey;
        this.exposures.record({
          flag: key,
          variation: out.variation,
          contextKey: typeof targetingKey === 'string' ? targetingKey : undefined,
          reason: out.reason,
          ruleId: out.ruleId,
          timestamp: Date.now(),
        });
      } catch {
        // reporting never breaks an evaluation
      }
    }
    return out;
  }

  private async run(): Promise<void> {
    const cache = this.options.cache;
    if (cache && !this.haveState) {
      try {
        const cached = await cache.load((e) => this.emit('error', e, false));
        if (cached && !this.haveState && !this.closed) this.applySnapshot(cached, false);
      } catch (e) {
        this.emit('error', toError(e), false);
      }
    }
    while (!this.closed) {
      const controller = new AbortController();
      this.connection = controller;
      this.immediate = false;
      const started = Date.now();
      let failure: Error | null = null;
      try {
        await this.transport.open({
          lastEventId: this.haveState && !this.resync ? String(this.replica.revision) : undefined,
          signal: controller.signal,
          onOpen: () => {
            if (controller.signal.aborted || this.closed) return;
            this.link = 'connected';
            this.emit('connected');
          },
          onMessage: (event, message) => {
            if (!controller.signal.aborted) this.onMessage(event, message, controller);
          },
        });
      } catch (e) {
        failure = toError(e);
      }
      const deliberate = controller.signal.aborted;
      // Whatever the transport left open goes now (idempotent when it cleaned up itself).
      controller.abort();
      if (this.closed) break;
      if (failure instanceof StreamHttpError && (failure.status === 401 || failure.status === 403)) {
        this.fatal = new FlagstreamAuthError(failure.status, `the gateway refused the SDK key (${failure.message}); not retrying`);
        this.lost(this.fatal);
        this.emit('error', this.fatal, true);
        for (const w of this.readyWaiters.splice(0)) w.reject(this.fatal);
        return;
      }
      if (failure && !deliberate) this.emit('error', failure, false);
      this.lost(deliberate ? null : failure);
      this.backoff.connectionLasted(Date.now() - started);
      // A reconnect to resume after a gap goes at once; failures (and resyncs after errors) wait.
      const delay = deliberate && this.immediate ? 0 : this.backoff.next();
      if (delay > 0) await this.sleep(delay);
    }
  }

  /** The stream is gone: `disconnected` once per loss, not per failed retry. */
  private lost(error: Error | null): void {
    if (this.link === 'disconnected') return;
    this.link = 'disconnected';
    this.emit('disconnected', error);
  }

  private onMessage(event: StreamEvent, message: unknown, connection: AbortController): void {
    try {
      if (event === 'snapshot') {
        this.applySnapshot(asSnapshot(message), true);
      } else if (event === 'patch') {
        const patch = asPatch(message);
        const outcome = this.replica.apply(patch.revision, patch.changes);
        if (outcome === 'duplicate') return;
        if (outcome === 'gap') {
          // Missed revisions: reconnect at once and resume from what we have.
          this.immediate = true;
          connection.abort();
          return;
        }
        this.evaluator = this.evaluator?.apply({
          revision: patch.revision,
          flags: patch.changes.flatMap((c) => (c.type === 'flag.upsert' ? [c.flag] : [])),
          removedFlags: patch.changes.flatMap((c) => (c.type === 'flag.delete' ? [c.key] : [])),
          segments: patch.changes.flatMap((c) => (c.type === 'segment.upsert' ? [c.segment] : [])),
          removedSegments: patch.changes.flatMap((c) => (c.type === 'segment.delete' ? [c.key] : [])),
        }) ?? null;
        if (this.replica.stateHash !== patch.stateHash) {
          // Our state differs from the gateway's: take a fresh snapshot.
          this.emit('error', new Error(`state hash mismatch at revision ${patch.revision}; resyncing`), false);
          this.resync = true;
          connection.abort();
          return;
        }
        this.scheduleSave();
        this.afterApply(this.changedKeys(patch), patch.revision, patch.changes.flatMap((c) => (c.type === 'config.upsert' ? [c.config.key] : c.type === 'config.delete' ? [c.key] : [])));
      }
    } catch (e) {
      this.emit('error', toError(e), false);
      this.resync = true;
      connection.abort();
    }
  }

  private applySnapshot(snapshot: SnapshotMessageV1, fromNetwork: boolean): void {
    const before = new Map(this.replica.flags().map((f) => [f.key, itemHash(f)]));
    const configsBefore = new Map(this.replica.configs().map((c) => [c.key, itemHash(c)]));
    this.replica.load(snapshot.revision, snapshot.flags, snapshot.segments, snapshot.configs ?? []);
    this.compiledConfigs = null;
    this.evaluator = compile({ environment: snapshot.environment, revision: snapshot.revision, flags: snapshot.flags, segments: snapshot.segments });
    this.environment = snapshot.environment;
    const changed = new Set<string>();
    // From nothing, every flag is new: no need to hash them again (startup from a cache is on the clock).
    for (const f of this.replica.flags()) if (before.size === 0 || before.get(f.key) !== itemHash(f)) changed.add(f.key);
    for (const key of before.keys()) if (!this.replica.flag(key)) changed.add(key);
    const configsChanged = new Set<string>();
    for (const c of this.replica.configs()) if (configsBefore.size === 0 || configsBefore.get(c.key) !== itemHash(c)) configsChanged.add(c.key);
    for (const key of configsBefore.keys()) if (!this.replica.config(key)) configsChanged.add(key);
    if (fromNetwork) {
      this.resync = false;
      // A snapshot from the gateway is saved at once: it may be the only state the next start gets.
      this.dirty = true;
      this.saveNow();
    }
    this.afterApply([...changed], fromNetwork ? snapshot.revision : null, [...configsChanged]);
  }

  /** Saves the state after patches, at most once per `cacheSaveIntervalMs` (the timer does not keep the process alive). */
  private scheduleSave(): void {
    if (!this.options.cache) return;
    this.dirty = true;
    if (this.saveTimer || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saveNow();
    }, this.options.cacheSaveIntervalMs ?? 1000);
    (this.saveTimer as { unref?: () => void }).unref?.();
  }

  /** Saves the current state if it changed since the last save (and is not in doubt). */
  private saveNow(): void {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    const cache = this.options.cache;
    if (!cache || !this.dirty || this.resync) return;
    this.dirty = false;
    const snapshot: SnapshotMessageV1 = {
      v: SDK_STREAM_VERSION,
      environment: this.environment,
      revision: this.replica.revision,
      stateHash: this.replica.stateHash,
      flags: this.replica.flags(),
      segments: this.replica.segments(),
      configs: this.replica.configs(),
    };
    const saving: Promise<void> = Promise.resolve()
      .then(() => cache.save(snapshot))
      .catch((e: unknown) => this.emit('error', toError(e), false))
      .finally(() => this.saves.delete(saving));
    this.saves.add(saving);
  }

  private afterApply(changed: string[], acknowledge: number | null, configs: string[] = []): void {
    const first = !this.haveState;
    this.haveState = true;
    if (first) {
      for (const w of this.readyWaiters.splice(0)) w.resolve();
      this.emit('ready');
    }
    if (changed.length) this.emit('change', changed.sort());
    if (configs.length) this.emit('configChange', configs.sort());
    if (acknowledge !== null) {
      this.emit('revision', acknowledge);
      if (this.options.acknowledge !== false) void this.transport.ack(acknowledge);
    }
  }

  /** Flags whose definition changed, including flags that use a changed segment. */
  private changedKeys(patch: PatchMessageV1): string[] {
    const keys = new Set<string>();
    const segments = new Set<string>();
    for (const c of patch.changes) {
      if (c.type === 'flag.upsert') keys.add(c.flag.key);
      else if (c.type === 'flag.delete') keys.add(c.key);
      else if (c.type === 'segment.upsert') segments.add(c.segment.key);
      else if (c.type === 'segment.delete') segments.add(c.key);
    }
    if (segments.size) {
      for (const f of this.replica.flags()) {
        const uses = f.settings.rules.some((r) => r.clauses.some((cl) => cl.operator === 'inSegment' && cl.values.some((v) => segments.has(String(v)))));
        if (uses) keys.add(f.key);
      }
    }
    return [...keys];
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parts of a snapshot the client relies on; anything else is the engine's to judge. */
function asSnapshot(m: unknown): SnapshotMessageV1 {
  if (!isObject(m) || m.v !== SDK_STREAM_VERSION) throw new Error(`unsupported snapshot message (v ${JSON.stringify(isObject(m) ? m.v : m)}); resyncing`);
  if (typeof m.environment !== 'string' || !isRevision(m.revision) || typeof m.stateHash !== 'string' || !Array.isArray(m.flags) || !Array.isArray(m.segments)) {
    throw new Error('malformed snapshot message; resyncing');
  }
  return m as unknown as SnapshotMessageV1;
}

function asPatch(m: unknown): PatchMessageV1 {
  if (!isObject(m) || m.v !== SDK_STREAM_VERSION) throw new Error(`unsupported patch message (v ${JSON.stringify(isObject(m) ? m.v : m)}); resyncing`);
  if (!isRevision(m.revision) || typeof m.stateHash !== 'string' || !Array.isArray(m.changes) || !m.changes.every(isObject)) throw new Error('malformed patch message; resyncing');
  return m as unknown as PatchMessageV1;
}

function isRevision(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Same value for the listener: the reason may change (a rule added) while the value does not. */
function sameResult(a: EvaluationDetail<unknown>, b: EvaluationDetail<unknown>): boolean {
  return a.variation === b.variation && JSON.stringify(a.value) === JSON.stringify(b.value);
}
