import {
  SDK_STREAM_VERSION,
  StateReplica,
  type EvaluationErrorCode,
  type EvaluationReason,
  type FlagKind,
  type PatchMessageV1,
  type SnapshotMessageV1,
} from '@flagstream/protocol';
import { compileConfigSnapshot, resolveSecretReferences, secretReferences, type CompiledConfigSnapshot, type ConfigEvaluation, type ConfigReason } from '@flagstream/config';
import { AttributeRef, compile, parseAttributePath, type EnvironmentEvaluator } from '@flagstream/targeting';
import { Backoff, type BackoffOptions } from './backoff';
import { Emitter } from './emitter';
import { ExposureReporter, type ExposureEvent, type ExposureOptions } from './exposure.reporter';
import { FlagstreamSecretsError, SecretsStore, type SecretDetail } from './secrets.store';
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
  /**
   * The experiment this evaluation put the context into (a tracked slice of a rollout that runs
   * one); absent otherwise, including for units outside the experiment's coverage.
   */
  experiment?: string;
  /** With `experiment`, when its unit is not the `targetingKey`: the attribute path of the unit (`tenant.id`). */
  experimentUnit?: string;
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

/**
 * Where the last good snapshot is kept between runs (see `FileSnapshotCache` for Node). The client
 * checks every loaded snapshot against its `stateHash` before it serves anything from it, so a
 * cache only has to return what it stored.
 */
export interface SnapshotCache {
  /** Where the snapshot is kept (a file path, a key…), for error messages. Optional. */
  readonly path?: string;
  /**
   * The last saved snapshot, or `null` when there is none. A cache that finds a stored snapshot
   * unusable returns `null` and passes the reason to `report` (the client emits it as a non-fatal
   * `error`); a rejection is reported the same way. The snapshot is plain JSON data, as
   * `JSON.parse` returns it. One whose contents do not match its `stateHash` is ignored by the
   * client with a `SnapshotCacheError`.
   */
  load(report?: (error: Error) => void): Promise<SnapshotMessageV1 | null>;
  /** Stores the client's current state (called after snapshots, after patches at most once per `cacheSaveIntervalMs`, and on `close()`). */
  save(snapshot: SnapshotMessageV1): Promise<void>;
}

/** Options of {@link FlagstreamClient}: `sdkKey` and `baseUrl` are required, the rest tunes it. */
export interface FlagstreamClientOptions {
  /** A server SDK key (`fs_server_…`). */
  sdkKey: string;
  /** The gateway, e.g. `http://localhost:4001`. */
  baseUrl: string;
  /**
   * A snapshot to start from before the network answers (offline start). Used only if its
   * contents match its `stateHash`; otherwise the client reports a non-fatal `error` and waits
   * for the network.
   */
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
  /**
   * Also read the secrets this server key's secret policies let it read (`GET /sdk/v1/secrets`),
   * served by `secret()` from memory and read again whenever the stream announces a change to
   * one (`secretChange`). They are held in memory only: never in the cache, a log or an error.
   * `ready()` then also waits for the first successful read, and rejects when the gateway refuses
   * it for good (a client key, a gateway that does not serve secrets). Default false.
   */
  secrets?: boolean;
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
  /**
   * Secrets (with the `secrets` option) whose version or definition changed, that appeared or
   * that disappeared, by path (sorted), after a read from the gateway; the first read reports
   * every path held. Never values: read them with `secret(path)`.
   */
  secretChange: [paths: string[]];
  /** A revision was applied. */
  revision: [revision: number];
  /**
   * Something went wrong; the client keeps retrying unless `fatal`. With the `secrets` option, a
   * failed read of secrets is a `FlagstreamSecretsError`: non-fatal, the last secrets are kept.
   */
  error: [error: Error, fatal: boolean];
};

/**
 * A cached snapshot cannot be used: the file is unreadable, corrupt or of another version
 * (reported by `FileSnapshotCache`), or its contents do not match its `stateHash` (found by the
 * client, which then ignores it). Emitted as a non-fatal `error`; the client starts from the network.
 */
export class SnapshotCacheError extends Error {
  constructor(
    /** Where the cache keeps its snapshot (the file of a `FileSnapshotCache`; empty when the cache does not say). */
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'SnapshotCacheError';
  }
}

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
 * default with reason `ERROR`. With the `secrets` option it also holds the secrets its key may
 * read, in memory.
 */
export class FlagstreamClient extends Emitter<FlagstreamClientEvents> {
  /** The state served; replaced whole by each snapshot whose state hash checks out. */
  private replica = new StateReplica();
  private evaluator: EnvironmentEvaluator | null = null;
  private compiledConfigs: { revision: number; items: Map<string, CompiledConfigSnapshot> } | null = null;
  /** Created on first use (the default one is not needed before the stream opens). */
  private streamTransport: StreamTransport | null;
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
  /** Compiled attribute paths of experiment units (`experimentUnit`), by path; null when invalid. */
  private readonly unitRefs = new Map<string, AttributeRef | null>();
  private readonly readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private loop: Promise<void> | null = null;
  private sleepTimer: ReturnType<typeof setTimeout> | null = null;
  private wake: (() => void) | null = null;
  /** Why the bootstrap snapshot was refused (reported once listeners can hear it). */
  private bootstrapProblem: Error | null = null;
  /** The secrets (with the `secrets` option): in memory only, never in the snapshot the cache saves. */
  private readonly secretsStore: SecretsStore | null;
  /** `ready` was announced: the client has a state and, with `secrets`, has read them once. */
  private announced = false;

  constructor(private readonly options: FlagstreamClientOptions) {
    super();
    this.streamTransport = options.transport ?? null;
    this.backoff = new Backoff(options.backoff);
    this.exposures = options.exposures ? new ExposureReporter(options.exposures, (e) => this.emit('error', e, false)) : null;
    this.secretsStore = options.secrets
      ? new SecretsStore({
          baseUrl: options.baseUrl,
          sdkKey: options.sdkKey,
          fetch: options.fetch,
          backoff: options.backoff,
          onRead: (changed) => this.onSecretsRead(changed),
          onError: (error, retrying) => this.onSecretsError(error, retrying),
        })
      : null;
    if (options.bootstrap) {
      try {
        this.applySnapshot(asSnapshot(options.bootstrap, 'bootstrap snapshot', 'ignoring it'), 'bootstrap');
      } catch (e) {
        this.bootstrapProblem = toError(e);
      }
    }
    // Start after the constructor returns, so listeners attached right after `new` see every event.
    this.loop = Promise.resolve().then(() => this.run());
  }

  private get transport(): StreamTransport {
    this.streamTransport ??= new FetchSseTransport({ baseUrl: this.options.baseUrl, sdkKey: this.options.sdkKey, fetch: this.options.fetch });
    return this.streamTransport;
  }

  /** The revision the client holds (0 before any state). */
  get revision(): number {
    return this.replica.revision;
  }

  /**
   * Whether the client has a state to evaluate (from the network, cache or bootstrap) and, with
   * the `secrets` option, has read the secrets once: what `ready()` waits for.
   */
  get isReady(): boolean {
    return this.announced;
  }

  /** Exposures not delivered (queue overflow, failed batches, or unsent at `close()`); 0 without `exposures`. */
  get droppedExposures(): number {
    return this.exposures?.dropped ?? 0;
  }

  /**
   * Resolves once the client has a state (the first snapshot, or the cached/bootstrap one) and,
   * with the `secrets` option, has read the secrets once (secrets are never cached: that read
   * needs the gateway). Rejects after `timeoutMs` (default 5 s), when the key is refused, or when
   * the first read of secrets is refused for good (`FlagstreamSecretsError`).
   */
  ready(timeoutMs = 5000): Promise<void> {
    if (this.announced) return Promise.resolve();
    if (this.fatal) return Promise.reject(this.fatal);
    return new Promise((resolve, reject) => {
      const since = Date.now();
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | null = null;
      const settle = () => {
        settled = true;
        if (timer !== null) clearTimeout(timer);
      };
      this.readyWaiters.push({
        resolve: () => {
          settle();
          resolve();
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
      // The timeout is armed after the current macrotask, counting from now: a client that gets
      // its state from the cache at once (the usual offline start) never creates the timer, which
      // keeps the first use of Node's timer machinery (slow when cold) off the start-up path.
      nextMacrotask(() => {
        if (settled) return;
        timer = setTimeout(() => {
          // Flags without secrets: say what is missing (the `error` events say why).
          const waiting = this.haveState ? ' (it has flags, but has not read the secrets yet)' : '';
          reject(new Error(`Flagstream client not ready after ${timeoutMs} ms${waiting}`));
        }, Math.max(0, timeoutMs - (Date.now() - since)));
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
  /** The string value with its variation, reason and rule. */
  stringDetail(key: string, context: EvaluationContext, defaultValue: string): EvaluationDetail<string> {
    return this.detail(key, context, defaultValue, 'string', true);
  }
  /** The number value with its variation, reason and rule. */
  numberDetail(key: string, context: EvaluationContext, defaultValue: number): EvaluationDetail<number> {
    return this.detail(key, context, defaultValue, 'number', true);
  }
  /** The JSON value with its variation, reason and rule. */
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
      let value = r.value;
      // `{"$secret": path}` inside the value: the secret's value, read from memory (secrets: true).
      if (secretReferences(value).length) {
        if (!this.options.secrets) return { value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: `config item "${key}" refers to secrets: create the client with secrets: true` };
        const resolved = resolveSecretReferences(value, (path) => this.secret(path));
        if ('missing' in resolved) return { value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: `config item "${key}" refers to secret "${resolved.missing}", which this SDK key cannot read (or which does not exist)` };
        value = resolved.value;
      }
      const out: ConfigDetail<T> = { value: value as T, reason: r.reason, version: r.version };
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
    const check = () => {
      const now = read();
      if (last && JSON.stringify(last.value) === JSON.stringify(now.value)) return;
      const previous = last?.value as T | undefined;
      last = now;
      listener(now.value as T | undefined, previous);
    };
    // A value that refers to secrets also changes when one of them does.
    const offConfig = this.on('configChange', check);
    const offSecrets = this.on('secretChange', check);
    return () => {
      offConfig();
      offSecrets();
    };
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
   * The value of the secret at `path` (`payments/stripe/api-key`), from memory. `undefined` when
   * the key's policies do not let it read that path, the secret does not exist (or its current
   * version was destroyed), the client has not read secrets yet, or the `secrets` option is off.
   */
  secret(path: string): string | undefined {
    return this.secretsStore?.value(path);
  }

  /**
   * The secret at `path` with its version and the environment it is defined in (a copy), or
   * `undefined` as for `secret()`. Right after a rotation with a grace period it also holds the
   * replaced value (`previous`, valid until `previous.until`).
   */
  secretDetail(path: string): SecretDetail | undefined {
    return this.secretsStore?.get(path);
  }

  /** The paths of the secrets held, sorted (empty before the first read, or without the `secrets` option). */
  secretPaths(): string[] {
    return this.secretsStore?.paths() ?? [];
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
   * Stops streaming and releases everything: aborts a read of secrets in flight, saves the
   * current state to the cache if it changed since the last save, sends queued exposures (waiting
   * at most their `closeTimeoutMs`), and rejects pending `ready()` calls. Afterwards nothing of
   * the client keeps the process alive; getters (`secret()` included) keep answering from the
   * last state.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.connection?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    await Promise.all([this.loop, this.secretsStore?.close()]);
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
      if (r.experiment !== undefined) out.experiment = r.experiment;
      if (r.experimentUnit !== undefined) out.experimentUnit = r.experimentUnit;
    } catch (e) {
      return { value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: String(e) };
    }
    if (expose && this.exposures && out.reason !== 'ERROR') {
      try {
        const targetingKey = context?.targetingKey;
        const event: ExposureEvent = {
          flag: key,
          variation: out.variation,
          contextKey: typeof targetingKey === 'string' ? targetingKey : undefined,
          reason: out.reason,
          ruleId: out.ruleId,
          timestamp: Date.now(),
        };
        if (out.experiment !== undefined) {
          event.experiment = out.experiment;
          if (out.experimentUnit !== undefined) {
            const unit = this.experimentUnitOf(out.experimentUnit, context);
            if (unit !== undefined) event.unit = unit;
          }
        }
        this.exposures.record(event);
      } catch {
        // reporting never breaks an evaluation
      }
    }
    return out;
  }

  /**
   * The experiment's unit in `context`: the value at `path`, read as the engine reads the value it
   * bucketed by (a non-empty string as is, a finite number as its decimal string); else undefined.
   */
  private experimentUnitOf(path: string, context: EvaluationContext): string | undefined {
    let ref = this.unitRefs.get(path);
    if (ref === undefined) {
      const segments = parseAttributePath(path);
      ref = typeof segments === 'string' ? null : new AttributeRef(segments);
      // The paths come from the flags' rollouts: few, but bounded anyway against a churning state.
      if (this.unitRefs.size >= 256) this.unitRefs.clear();
      this.unitRefs.set(path, ref);
    }
    const value = ref?.read(context ?? {});
    if (typeof value === 'string') return value === '' ? undefined : value;
    return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
  }

  private async run(): Promise<void> {
    if (this.bootstrapProblem) this.emit('error', this.bootstrapProblem, false);
    await this.loadCache();
    // With a state to serve (cache or bootstrap), let the caller's `await ready()` and first
    // evaluations run before the stream opens: opening it can block for tens of milliseconds
    // (Node loads its fetch implementation on first use).
    if (this.haveState && !this.closed) await new Promise<void>((resolve) => nextMacrotask(resolve));
    await this.follow();
  }

  /** Serves the cached snapshot, if there is one and its state hash checks out. */
  private async loadCache(): Promise<void> {
    const cache = this.options.cache;
    if (cache && !this.haveState) {
      try {
        const cached = await cache.load((e) => this.emit('error', e, false));
        if (cached && !this.haveState && !this.closed) {
          const where = typeof cache.path === 'string' ? cache.path : '';
          const label = where ? `snapshot cache ${where}` : 'snapshot cache';
          try {
            this.applySnapshot(asSnapshot(cached, label, 'ignoring it'), 'cache');
          } catch (e) {
            this.emit('error', e instanceof SnapshotCacheError ? e : new SnapshotCacheError(where, toError(e).message), false);
          }
        }
      } catch (e) {
        this.emit('error', toError(e), false);
      }
    }
  }

  /** Follows the gateway's stream until the client closes or the key is refused, reconnecting with backoff. */
  private async follow(): Promise<void> {
    while (!this.closed && !this.fatal) {
      const controller = new AbortController();
      this.connection = controller;
      this.immediate = false;
      const started = Date.now();
      let failure: Error | null = null;
      let messages = 0;
      try {
        await this.transport.open({
          lastEventId: this.haveState && !this.resync ? String(this.replica.revision) : undefined,
          signal: controller.signal,
          onOpen: () => {
            if (controller.signal.aborted || this.closed) return;
            this.link = 'connected';
            this.emit('connected');
            // The gateway follows the environment for us now: read the secrets (again), since
            // notices of changes may have been missed while there was no stream.
            this.secretsStore?.refresh();
          },
          onMessage: (event, message) => {
            if (controller.signal.aborted) return;
            // A snapshot within a connection means the gateway lost track: notices may be lost too.
            if (event === 'snapshot' && messages > 0) this.secretsStore?.refresh();
            messages++;
            this.onMessage(event, message, controller);
          },
        });
      } catch (e) {
        failure = toError(e);
      }
      const deliberate = controller.signal.aborted;
      // Whatever the transport left open goes now (idempotent when it cleaned up itself).
      controller.abort();
      if (this.closed || this.fatal) break;
      if (failure instanceof StreamHttpError && (failure.status === 401 || failure.status === 403)) {
        this.fatal = new FlagstreamAuthError(failure.status, `the gateway refused the SDK key (${failure.message}); not retrying`);
        void this.secretsStore?.close();
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
        this.applySnapshot(asSnapshot(message, 'snapshot message', 'resyncing'), 'network');
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
        // A notice only (never a value, not part of the state): read the secrets again.
        if (patch.changes.some((c) => c.type === 'secret.changed')) this.secretsStore?.refresh();
      }
    } catch (e) {
      this.emit('error', toError(e), false);
      this.resync = true;
      connection.abort();
    }
  }

  /**
   * Serves a whole state, but only once it has proved to be exactly the state its `stateHash`
   * names: the replica hashes every item (once; patches re-hash only what they change) and a
   * mismatch throws, leaving the state served so far untouched. Flags compile on first use.
   */
  private applySnapshot(snapshot: SnapshotMessageV1, origin: 'network' | 'cache' | 'bootstrap'): void {
    const next = new StateReplica();
    // Network and cache snapshots were parsed from JSON text: the replica may hash their native
    // serialisation first (exact whenever it matches). A bootstrap object may hold anything.
    if (origin === 'bootstrap') next.load(snapshot.revision, snapshot.flags, snapshot.segments, snapshot.configs ?? []);
    else next.loadChecked(snapshot.revision, snapshot.flags, snapshot.segments, snapshot.configs ?? [], snapshot.stateHash);
    if (next.stateHash !== snapshot.stateHash) {
      const says = `it says ${snapshot.stateHash}, its contents hash to ${next.stateHash}`;
      if (origin === 'network') throw new Error(`state hash mismatch in the snapshot at revision ${snapshot.revision} (${says}); resyncing`);
      if (origin === 'bootstrap') throw new Error(`bootstrap snapshot does not match its state hash (${says}); ignoring it`);
      const where = typeof this.options.cache?.path === 'string' ? this.options.cache.path : '';
      throw new SnapshotCacheError(where, `snapshot cache ${where ? `${where} ` : ''}does not match its state hash (${says}); ignoring it`);
    }
    const previous = this.replica;
    this.replica = next;
    this.compiledConfigs = null;
    this.evaluator = compile({ environment: snapshot.environment, revision: snapshot.revision, flags: snapshot.flags, segments: snapshot.segments }, { lazy: true });
    this.environment = snapshot.environment;
    const changed = changedItems(previous.flagHashes, next.flagHashes);
    const configsChanged = changedItems(previous.configHashes, next.configHashes);
    const fromNetwork = origin === 'network';
    if (fromNetwork) {
      this.resync = false;
      // A snapshot from the gateway is saved at once: it may be the only state the next start gets.
      this.dirty = true;
      this.saveNow();
    }
    this.afterApply(changed, fromNetwork ? snapshot.revision : null, configsChanged);
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
    this.haveState = true;
    this.announceReady();
    if (changed.length) this.emit('change', changed.sort());
    if (configs.length) this.emit('configChange', configs.sort());
    if (acknowledge !== null) {
      this.emit('revision', acknowledge);
      if (this.options.acknowledge !== false) void this.transport.ack(acknowledge);
    }
  }

  /** Resolves `ready()` and emits `ready`, once: when there is a state and, with `secrets`, they were read. */
  private announceReady(): void {
    if (this.announced || !this.haveState || this.fatal || (this.secretsStore && !this.secretsStore.loaded)) return;
    this.announced = true;
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    this.emit('ready');
  }

  private onSecretsRead(changed: string[]): void {
    if (this.closed) return;
    this.announceReady();
    if (changed.length) this.emit('secretChange', changed);
  }

  /**
   * A failed read of secrets. The first read refused for good (a client key, a gateway that does
   * not serve secrets) stops the client like a refused key: `secrets` was asked for and will never
   * come. Any other failure is non-fatal, and the secrets read last stay served.
   */
  private onSecretsError(error: FlagstreamSecretsError, retrying: boolean): void {
    if (this.closed || this.fatal) return;
    if (retrying || this.secretsStore?.loaded) {
      this.emit('error', error, false);
      return;
    }
    this.fatal = error;
    void this.secretsStore?.close();
    this.connection?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    this.lost(error);
    this.emit('error', error, true);
    for (const w of this.readyWaiters.splice(0)) w.reject(error);
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

/**
 * The parts of a snapshot the client relies on; anything else is the engine's to judge. `what`
 * names the source in the error, `then` says what the client does about it.
 */
function asSnapshot(m: unknown, what: string, then: string): SnapshotMessageV1 {
  if (!isObject(m) || m.v !== SDK_STREAM_VERSION) throw new Error(`unsupported ${what} (v ${JSON.stringify(isObject(m) ? m.v : m)}); ${then}`);
  if (
    typeof m.environment !== 'string' ||
    !isRevision(m.revision) ||
    typeof m.stateHash !== 'string' ||
    !isKeyedList(m.flags) ||
    !isKeyedList(m.segments) ||
    (m.configs !== undefined && !isKeyedList(m.configs))
  ) {
    throw new Error(`malformed ${what}; ${then}`);
  }
  return m as unknown as SnapshotMessageV1;
}

/** A list of objects with string keys (flags, segments, config items). */
function isKeyedList(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => isObject(item) && typeof item.key === 'string');
}

/** Keys added, removed or changed between two sets of item hashes (all of them when starting from nothing). */
function changedItems(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const changed: string[] = [];
  for (const [key, hash] of after) if (before.get(key) !== hash) changed.push(key);
  for (const key of before.keys()) if (!after.has(key)) changed.push(key);
  return changed;
}

/**
 * Calls `callback` in a later macrotask: after every promise reaction queued so far. Uses
 * `setImmediate` where there is one (Node), else a zero timeout.
 */
function nextMacrotask(callback: () => void): void {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  if (typeof immediate === 'function') immediate(callback);
  else setTimeout(callback, 0);
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
