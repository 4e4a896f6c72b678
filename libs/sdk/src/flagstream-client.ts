import {
  StateReplica,
  itemHash,
  type EvaluationErrorCode,
  type EvaluationReason,
  type FlagKind,
  type PatchMessageV1,
  type SnapshotMessageV1,
} from '@flagstream/protocol';
import { compile, type EnvironmentEvaluator } from '@flagstream/targeting';
import { Backoff, type BackoffOptions } from './backoff';
import { Emitter } from './emitter';
import type { SseMessage } from './sse-parser';
import { FetchSseTransport, StreamHttpError, type StreamTransport } from './transport';

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

/** Where the last good snapshot is kept between runs (see `FileSnapshotCache` for Node). */
export interface SnapshotCache {
  load(): Promise<SnapshotMessageV1 | null>;
  save(snapshot: SnapshotMessageV1): Promise<void>;
}

export interface FlagstreamClientOptions {
  /** A server SDK key (`fs_server_…`). */
  sdkKey: string;
  /** The gateway, e.g. `http://localhost:4001`. */
  baseUrl: string;
  /** A snapshot to start from before the network answers (offline start). */
  bootstrap?: SnapshotMessageV1;
  /** Loads the last good snapshot at start, and saves each new one. */
  cache?: SnapshotCache;
  /** Reconnection backoff. */
  backoff?: BackoffOptions;
  /** Acknowledge applied revisions for the gateway's propagation receipts. Default true. */
  acknowledge?: boolean;
  /** Replaces the SSE-over-fetch transport (tests, proxies). */
  transport?: StreamTransport;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

type ClientEvents = {
  /** The first state is available (from the network, the cache or the bootstrap). */
  ready: [];
  /** Flags whose definition changed (upserted, deleted, or using a changed segment). */
  change: [keys: string[]];
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
export class FlagstreamClient extends Emitter<ClientEvents> {
  private readonly replica = new StateReplica();
  private evaluator: EnvironmentEvaluator | null = null;
  private readonly transport: StreamTransport;
  private readonly backoff: Backoff;
  private connection: AbortController | null = null;
  private closed = false;
  private fatal: Error | null = null;
  private haveState = false;
  private resync = false;
  private readonly readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private loop: Promise<void> | null = null;
  private sleepTimer: ReturnType<typeof setTimeout> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: FlagstreamClientOptions) {
    super();
    this.transport = options.transport ?? new FetchSseTransport({ baseUrl: options.baseUrl, sdkKey: options.sdkKey, fetch: options.fetch });
    this.backoff = new Backoff(options.backoff);
    if (options.bootstrap) this.applySnapshot(options.bootstrap, false);
    this.loop = this.run();
  }

  /** The revision the client holds (0 before any state). */
  get revision(): number {
    return this.replica.revision;
  }

  /** Whether the client has a state to evaluate (from the network, cache or bootstrap). */
  get isReady(): boolean {
    return this.haveState;
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
    return this.detail(key, context, defaultValue, 'boolean');
  }
  stringDetail(key: string, context: EvaluationContext, defaultValue: string): EvaluationDetail<string> {
    return this.detail(key, context, defaultValue, 'string');
  }
  numberDetail(key: string, context: EvaluationContext, defaultValue: number): EvaluationDetail<number> {
    return this.detail(key, context, defaultValue, 'number');
  }
  jsonDetail<T = unknown>(key: string, context: EvaluationContext, defaultValue: T): EvaluationDetail<T> {
    return this.detail(key, context, defaultValue, 'json');
  }

  /**
   * Calls `listener` whenever the value of `key` for `context` changes (not on every change of
   * the flag). Returns a function that stops it.
   */
  onValueChange<T = unknown>(key: string, context: EvaluationContext, listener: (value: T, previous: T | undefined) => void): () => void {
    let last = this.haveState ? this.detail<unknown>(key, context, undefined, undefined) : undefined;
    return this.on('change', () => {
      const now = this.detail<unknown>(key, context, undefined, undefined);
      if (last && sameResult(last, now)) return;
      const previous = last?.value as T | undefined;
      last = now;
      listener(now.value as T, previous);
    });
  }

  /** Stops streaming and releases everything; pending `ready()` calls reject. */
  async close(): Promise<void> {
    this.closed = true;
    this.connection?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.loop;
    for (const w of this.readyWaiters.splice(0)) w.reject(new Error('Flagstream client closed'));
    this.removeAllListeners();
  }

  private detail<T>(key: string, context: EvaluationContext, defaultValue: T, kind: FlagKind | undefined): EvaluationDetail<T> {
    try {
      if (!this.evaluator) return { value: defaultValue, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: 'the client has no flags yet' };
      const r = this.evaluator.evaluate(key, context, { kind, defaultValue });
      const out: EvaluationDetail<T> = { value: (r.reason === 'ERROR' ? defaultValue : r.value) as T, reason: r.reason };
      if (r.variation !== undefined) out.variation = r.variation;
      if (r.ruleId !== undefined) out.ruleId = r.ruleId;
      if (r.errorCode !== undefined) out.errorCode = r.errorCode;
      if (r.errorMessage !== undefined) out.errorMessage = r.errorMessage;
      return out;
    } catch (e) {
      return { value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: String(e) };
    }
  }

  private async run(): Promise<void> {
    if (this.options.cache && !this.haveState) {
      try {
        const cached = await this.options.cache.load();
        if (cached && !this.haveState) this.applySnapshot(cached, false);
      } catch (e) {
        this.emit('error', e instanceof Error ? e : new Error(String(e)), false);
      }
    }
    while (!this.closed) {
      const controller = new AbortController();
      this.connection = controller;
      const started = Date.now();
      try {
        await this.transport.open({
          lastEventId: this.haveState && !this.resync ? String(this.replica.revision) : undefined,
          signal: controller.signal,
          onOpen: () => {
            this.resync = false;
          },
          onMessage: (m) => this.onMessage(m, controller),
        });
      } catch (e) {
        if (this.closed) break;
        if (e instanceof StreamHttpError && (e.status === 401 || e.status === 403)) {
          this.fatal = new FlagstreamAuthError(e.status, `the gateway refused the SDK key (${e.message}); not retrying`);
          this.emit('error', this.fatal, true);
          for (const w of this.readyWaiters.splice(0)) w.reject(this.fatal);
          return;
        }
        if (!controller.signal.aborted) this.emit('error', e instanceof Error ? e : new Error(String(e)), false);
      }
      if (this.closed) break;
      this.backoff.connectionLasted(Date.now() - started);
      // A deliberate reconnect (gap, hash mismatch) goes at once; a failure waits.
      const delay = controller.signal.aborted ? 0 : this.backoff.next();
      if (delay > 0) await this.sleep(delay);
    }
  }

  private onMessage(m: SseMessage, connection: AbortController): void {
    try {
      if (m.event === 'snapshot') {
        this.applySnapshot(JSON.parse(m.data) as SnapshotMessageV1, true);
      } else if (m.event === 'patch') {
        const patch = JSON.parse(m.data) as PatchMessageV1;
        const outcome = this.replica.apply(patch.revision, patch.changes);
        if (outcome === 'duplicate') return;
        if (outcome === 'gap') {
          // Missed revisions: reconnect and resume from what we have.
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
        this.afterApply(this.changedKeys(patch), patch.revision);
      }
    } catch (e) {
      this.emit('error', e instanceof Error ? e : new Error(String(e)), false);
      this.resync = true;
      connection.abort();
    }
  }

  private applySnapshot(snapshot: SnapshotMessageV1, fromNetwork: boolean): void {
    const before = new Map(this.replica.flags().map((f) => [f.key, itemHash(f)]));
    this.replica.load(snapshot.revision, snapshot.flags, snapshot.segments);
    this.evaluator = compile({ environment: snapshot.environment, revision: snapshot.revision, flags: snapshot.flags, segments: snapshot.segments });
    const changed = new Set<string>();
    for (const f of this.replica.flags()) if (before.get(f.key) !== itemHash(f)) changed.add(f.key);
    for (const key of before.keys()) if (!this.replica.flag(key)) changed.add(key);
    if (fromNetwork && this.options.cache) void this.options.cache.save(snapshot).catch((e: unknown) => this.emit('error', e instanceof Error ? e : new Error(String(e)), false));
    this.afterApply([...changed], fromNetwork ? snapshot.revision : null);
  }

  private afterApply(changed: string[], acknowledge: number | null): void {
    const first = !this.haveState;
    this.haveState = true;
    if (first) {
      for (const w of this.readyWaiters.splice(0)) w.resolve();
      this.emit('ready');
    }
    if (changed.length) this.emit('change', changed.sort());
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
      else segments.add(c.key);
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

/** Same value for the listener: the reason may change (a rule added) while the value does not. */
function sameResult(a: EvaluationDetail<unknown>, b: EvaluationDetail<unknown>): boolean {
  return a.variation === b.variation && JSON.stringify(a.value) === JSON.stringify(b.value);
}
