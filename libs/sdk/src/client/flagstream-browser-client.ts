import type {
  EvaluatedFlagV1,
  EvaluatedPatchMessageV1,
  EvaluatedSnapshotMessageV1,
  EvaluationErrorCode,
  EvaluationReason,
} from '@flagstream/protocol';
import { Backoff, type BackoffOptions } from '../backoff';
import { Emitter } from '../emitter';
import type { SseMessage } from '../sse-parser';
import { EvaluatedStreamHttpError, FetchEvaluatedStreamTransport, type EvaluatedStreamTransport } from './evaluated-stream.transport';
import { ValueCache, canonicalJson, type StorageLike } from './value.cache';

/** The evaluation context: attributes of the user, device, tenant… `targetingKey` identifies it. */
export type EvaluationContext = Record<string, unknown>;

/** Why a getter served the default: the gateway's error codes plus `PROVIDER_NOT_READY`. */
export type ErrorCode = EvaluationErrorCode | 'PROVIDER_NOT_READY';

/** A value with how it was decided (the same shape as the server client's). */
export interface EvaluationDetail<T> {
  value: T;
  /** The variation served (absent on errors). */
  variation?: string;
  reason: EvaluationReason;
  errorCode?: ErrorCode;
  errorMessage?: string;
  /** The experiment the gateway's evaluation put this context into; absent otherwise (outside its coverage too). */
  experiment?: string;
  /** With `experiment`, when its unit is not the `targetingKey`: the attribute path of the unit (`tenant.id`). */
  experimentUnit?: string;
}

/** Settings of {@link FlagstreamBrowserClient}. */
export interface FlagstreamBrowserClientOptions {
  /** A client SDK key (`fs_client_…`): it may only read client-visible flags, so it may ship in a page. */
  sdkKey: string;
  /** The gateway, e.g. `https://flags.example.com`. */
  baseUrl: string;
  /** The context to evaluate flags for; change it with `identify()`. */
  context: EvaluationContext;
  /**
   * Where the last values of each recent context are cached for an instant start. Defaults to
   * `globalThis.localStorage` when there is one; `null` turns caching off.
   */
  storage?: StorageLike | null;
  /** Reconnection backoff (exponential with full jitter). */
  backoff?: BackoffOptions;
  /** Acknowledge applied revisions for the gateway's propagation receipts. Default true. */
  acknowledge?: boolean;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Replaces the SSE-over-fetch transport (tests, proxies). */
  transport?: EvaluatedStreamTransport;
}

/** The events of {@link FlagstreamBrowserClient}, with their arguments. */
export type BrowserClientEvents = {
  /** The client has values for its current context (at start, and after an `identify()` that had to wait). */
  ready: [];
  /** Flags whose value, variant, reason, error code or experiment changed, or that were added or removed. */
  change: [keys: string[]];
  /** A revision from the gateway was applied. */
  revision: [revision: number];
  /** Something went wrong; the client keeps going unless `fatal`. */
  error: [error: Error, fatal: boolean];
  /** The gateway accepted the stream. */
  connected: [];
  /** An open stream ended: `null` when the gateway closed it, otherwise the error. The client reconnects. */
  disconnected: [error: Error | null];
};

/** The SDK key was refused (401/403): the client stops instead of hammering the gateway. */
export class FlagstreamAuthError extends Error {
  /**
   * @param status - 401 (unknown or revoked key) or 403 (a key that may not use this stream).
   * @param message - what the gateway said.
   */
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'FlagstreamAuthError';
  }
}

type Kind = 'boolean' | 'string' | 'number' | 'json';

/** Acknowledgements waiting beyond this are dropped, oldest first (receipts are best effort). */
const MAX_PENDING_ACKS = 100;

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Flagstream for browsers (client mode): follows the gateway's evaluated stream for one context
 * and keeps the values of the client-visible flags. It never sees rules and never evaluates.
 * Getters never throw: on any problem they return the default with reason `ERROR`.
 *
 * ```ts
 * const flags = new FlagstreamBrowserClient({ sdkKey: 'fs_client_…', baseUrl, context: { targetingKey: user.id } });
 * await flags.ready();
 * flags.boolean('new-checkout', false);
 * await flags.identify({ targetingKey: other.id });
 * ```
 */
export class FlagstreamBrowserClient extends Emitter<BrowserClientEvents> {
  private readonly transport: EvaluatedStreamTransport;
  private readonly backoff: Backoff;
  private readonly cache: ValueCache | null;
  private ctx: EvaluationContext;
  /** Bumped by identify(): messages of an older generation are dropped. */
  private generation = 0;
  private flags = new Map<string, EvaluatedFlagV1>();
  private rev = 0;
  /** Whether `flags` holds anything (perhaps still the previous context's values). */
  private haveValues = false;
  /** Whether `flags` holds the current context's values. */
  private current = false;
  /** Whether the current context's values came from the stream (not only from the cache). */
  private fromNetwork = false;
  private closed = false;
  private fatal: Error | null = null;
  /** The gateway refused the current context (400): wait for identify() instead of retrying. */
  private refusedContext: Error | null = null;
  private readonly waiters: Waiter[] = [];
  private connection: AbortController | null = null;
  private readonly loop: Promise<void>;
  private sleepTimer: ReturnType<typeof setTimeout> | null = null;
  private wake: (() => void) | null = null;
  /** Revisions to acknowledge, sent one at a time (a page has few connections to spare). */
  private readonly ackQueue: number[] = [];
  private acking: Promise<void> | null = null;
  private readonly ackAbort = new AbortController();

  /**
   * Starts streaming at once. With a cache entry for this exact context the client is ready
   * before the constructor returns.
   *
   * @param options - the key, the gateway and the context; see {@link FlagstreamBrowserClientOptions}.
   * @throws TypeError when the context cannot be serialised as JSON.
   */
  constructor(private readonly options: FlagstreamBrowserClientOptions) {
    super();
    this.ctx = snapshotOf(options.context);
    this.transport = options.transport ?? new FetchEvaluatedStreamTransport({ baseUrl: options.baseUrl, sdkKey: options.sdkKey, fetch: options.fetch });
    this.backoff = new Backoff(options.backoff);
    const storage = options.storage === undefined ? defaultStorage() : options.storage;
    // Reported a turn later, so that listeners added right after construction hear about the first read.
    this.cache = storage ? new ValueCache(storage, options, (e) => queueMicrotask(() => this.emit('error', e, false))) : null;
    this.loadCache();
    this.loop = this.run();
  }

  /** The context the client follows (as sent to the gateway). */
  get context(): Readonly<EvaluationContext> {
    return this.ctx;
  }

  /** The revision of the values held (0 before any). */
  get revision(): number {
    return this.rev;
  }

  /** Whether the client holds values for its current context (from the stream or the cache). */
  get isReady(): boolean {
    return this.current;
  }

  /**
   * Resolves once the client has values for its current context: the first snapshot, or cached
   * values saved for the same context. Rejects after `timeoutMs` (default 5 s), when the key is
   * refused, when the gateway refuses the context, or when the client is closed.
   */
  ready(timeoutMs = 5000): Promise<void> {
    if (this.current) return Promise.resolve();
    return this.waitForValues(timeoutMs, 'ready');
  }

  /**
   * Switches to another context: reconnects with it, and resolves once its values are applied,
   * at once when the cache has them (they are then refreshed live). Values of the previous
   * context are served until then, never mixed with the new one's: messages of the old connection
   * are dropped. When identify() is called again before this settles, this settles with the later
   * one. Rejects after `timeoutMs` (default 5 s; the client keeps trying), when the key was
   * refused, or when the client is closed.
   *
   * @throws TypeError (as a rejection) when the context cannot be serialised as JSON.
   */
  identify(context: EvaluationContext, timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.reject(new Error('Flagstream client closed'));
    if (this.fatal) return Promise.reject(this.fatal);
    let next: EvaluationContext;
    try {
      next = snapshotOf(context);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new TypeError(String(e)));
    }
    if (canonicalJson(next) === canonicalJson(this.ctx) && !this.refusedContext) return this.ready(timeoutMs);
    this.generation++;
    this.ctx = next;
    this.current = false;
    this.fromNetwork = false;
    this.refusedContext = null;
    this.connection?.abort();
    this.wakeUp();
    this.loadCache();
    return this.ready(timeoutMs);
  }

  /** The boolean value of a flag, or `defaultValue`. */
  boolean(key: string, defaultValue: boolean): boolean {
    return this.booleanDetail(key, defaultValue).value;
  }
  /** The string value of a flag, or `defaultValue`. */
  string(key: string, defaultValue: string): string {
    return this.stringDetail(key, defaultValue).value;
  }
  /** The number value of a flag, or `defaultValue`. */
  number(key: string, defaultValue: number): number {
    return this.numberDetail(key, defaultValue).value;
  }
  /** The JSON value of a flag (any JSON value), or `defaultValue`. */
  json<T = unknown>(key: string, defaultValue: T): T {
    return this.jsonDetail(key, defaultValue).value;
  }
  /** A boolean value with its variation and reason; a value of another type is `TYPE_MISMATCH`. */
  booleanDetail(key: string, defaultValue: boolean): EvaluationDetail<boolean> {
    return this.detail(key, defaultValue, 'boolean');
  }
  /** A string value with its variation and reason; a value of another type is `TYPE_MISMATCH`. */
  stringDetail(key: string, defaultValue: string): EvaluationDetail<string> {
    return this.detail(key, defaultValue, 'string');
  }
  /** A number value with its variation and reason; a value of another type is `TYPE_MISMATCH`. */
  numberDetail(key: string, defaultValue: number): EvaluationDetail<number> {
    return this.detail(key, defaultValue, 'number');
  }
  /** A JSON value (object, array or primitive) with its variation and reason. */
  jsonDetail<T = unknown>(key: string, defaultValue: T): EvaluationDetail<T> {
    return this.detail(key, defaultValue, 'json');
  }

  /** Every flag's evaluated value for the current context, by key (a copy). */
  allFlags(): Record<string, EvaluatedFlagV1> {
    const out: Record<string, EvaluatedFlagV1> = {};
    for (const [key, f] of this.flags) out[key] = { ...f };
    return out;
  }

  /**
   * Calls `listener` whenever the value (or variant) of `key` changes; `value` is undefined when
   * the flag is gone or in error. Returns a function that stops it.
   */
  onValueChange<T = unknown>(key: string, listener: (value: T | undefined, previous: T | undefined) => void): () => void {
    let last = this.flags.get(key);
    return this.on('change', (keys) => {
      if (!keys.includes(key)) return;
      const now = this.flags.get(key);
      if (valueOf(last) === undefined && valueOf(now) === undefined) return;
      if (last && now && sameValue(last, now)) return;
      const previous = valueOf(last) as T | undefined;
      last = now;
      listener(valueOf(now) as T | undefined, previous);
    });
  }

  /** Stops streaming and releases everything; pending `ready()` and `identify()` calls reject. */
  async close(): Promise<void> {
    this.closed = true;
    this.connection?.abort();
    this.ackAbort.abort();
    this.wakeUp();
    await this.loop;
    await this.acking;
    this.settle(new Error('Flagstream client closed'));
    this.removeAllListeners();
  }

  private detail<T>(key: string, defaultValue: T, kind: Kind): EvaluationDetail<T> {
    try {
      if (!this.haveValues) return { value: defaultValue, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY', errorMessage: 'the client has no flag values yet' };
      const f = this.flags.get(key);
      if (!f) return { value: defaultValue, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `flag "${key}" is not known to this client (missing, archived or not client-visible)` };
      if (f.reason === 'ERROR') {
        return { value: defaultValue, reason: 'ERROR', errorCode: f.errorCode ?? 'GENERAL', errorMessage: `the gateway could not evaluate flag "${key}"` };
      }
      const actual = f.value === null ? 'null' : Array.isArray(f.value) ? 'array' : typeof f.value;
      if (kind !== 'json' ? actual !== kind : f.value === undefined) {
        return { value: defaultValue, reason: 'ERROR', errorCode: 'TYPE_MISMATCH', errorMessage: `flag "${key}" has a value of type ${actual}, not ${kind}` };
      }
      const out: EvaluationDetail<T> = { value: f.value as T, reason: f.reason };
      if (f.variant !== undefined) out.variation = f.variant;
      if (typeof f.experiment === 'string') out.experiment = f.experiment;
      if (typeof f.experimentUnit === 'string') out.experimentUnit = f.experimentUnit;
      return out;
    } catch (e) {
      return { value: defaultValue, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: String(e) };
    }
  }

  private waitForValues(timeoutMs: number, what: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('Flagstream client closed'));
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.refusedContext) return Promise.reject(this.refusedContext);
    return new Promise((resolve, reject) => {
      // Not unref'd: it is bounded, cleared when the wait settles or the client closes, and a
      // script awaiting ready() should get the rejection rather than exit silently.
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`Flagstream client not ${what} after ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves (or with `error`, rejects) every pending ready()/identify(). */
  private settle(error?: Error): void {
    for (const w of this.waiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  private loadCache(): void {
    if (!this.cache) return;
    const cached = this.cache.load(this.ctx);
    if (cached) this.replace(cached.flags, cached.revision, false);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      if (this.refusedContext) {
        await this.sleep(null);
        continue;
      }
      const controller = new AbortController();
      this.connection = controller;
      const generation = this.generation;
      const isCurrent = () => !this.closed && generation === this.generation && this.connection === controller;
      const state = { opened: false, snapshot: false, broken: false };
      const started = Date.now();
      let failure: Error | null = null;
      try {
        await this.transport.open({
          context: this.ctx,
          lastEventId: this.current && this.fromNetwork ? String(this.rev) : undefined,
          signal: controller.signal,
          onOpen: () => {
            if (!isCurrent()) return;
            state.opened = true;
            this.emit('connected');
          },
          onMessage: (m) => {
            if (isCurrent()) this.onMessage(m, state, controller);
          },
        });
      } catch (e) {
        if (this.closed) break;
        if (e instanceof EvaluatedStreamHttpError && (e.status === 401 || e.status === 403)) {
          this.fatal = new FlagstreamAuthError(e.status, `the gateway refused the SDK key (${e.message}); not retrying`);
          this.emit('error', this.fatal, true);
          this.settle(this.fatal);
          return;
        }
        if (!controller.signal.aborted) {
          failure = e instanceof Error ? e : new Error(String(e));
          if (e instanceof EvaluatedStreamHttpError && e.status === 400 && generation === this.generation) {
            this.refusedContext = new Error(`the gateway refused the context (${e.message}); call identify() with a valid one`);
            this.emit('error', this.refusedContext, false);
            this.settle(this.refusedContext);
            continue;
          }
          this.emit('error', failure, false);
        }
      }
      if (this.closed) break;
      // identify() aborts on purpose: that is no disconnection, and it reconnects at once.
      const deliberate = controller.signal.aborted && !state.broken;
      if (state.broken) failure = new Error('the stream sent a message the client could not read');
      if (state.opened && !deliberate) this.emit('disconnected', failure);
      this.backoff.connectionLasted(Date.now() - started);
      if (!deliberate) await this.sleep(this.backoff.next());
    }
  }

  private onMessage(m: SseMessage, connection: { snapshot: boolean; broken: boolean }, controller: AbortController): void {
    try {
      if (m.event === 'snapshot') {
        const snapshot = JSON.parse(m.data) as EvaluatedSnapshotMessageV1;
        if (!isRevision(snapshot?.revision) || !isFlagMap(snapshot.flags)) throw new Error(`malformed snapshot: ${m.data.slice(0, 200)}`);
        connection.snapshot = true;
        // A gateway behind the one that served us must not take us back in time; it catches up
        // and then sends what changed, as absolute values.
        if (this.current && this.fromNetwork && snapshot.revision < this.rev) return;
        this.replace(snapshot.flags, snapshot.revision, true);
      } else if (m.event === 'patch') {
        const patch = JSON.parse(m.data) as EvaluatedPatchMessageV1;
        if (!isRevision(patch?.revision) || !isFlagMap(patch.flags) || !Array.isArray(patch.removed)) throw new Error(`malformed patch: ${m.data.slice(0, 200)}`);
        // The evaluated stream skips revisions that change nothing for this context: only order matters.
        if (!connection.snapshot || patch.revision <= this.rev) return;
        const changed: string[] = [];
        for (const [key, f] of Object.entries(patch.flags)) {
          const before = this.flags.get(key);
          if (!before || !sameFlag(before, f)) changed.push(key);
          this.flags.set(key, f);
        }
        for (const key of patch.removed) if (this.flags.delete(key)) changed.push(key);
        this.rev = patch.revision;
        this.afterApply(changed, true);
      }
    } catch (e) {
      // A message we cannot read: reconnect (after a backoff delay) for a fresh snapshot.
      this.emit('error', e instanceof Error ? e : new Error(String(e)), false);
      connection.broken = true;
      controller.abort();
    }
  }

  /** Replaces every value with a snapshot's (from the stream, or from the cache). */
  private replace(flags: Record<string, EvaluatedFlagV1>, revision: number, fromNetwork: boolean): void {
    const next = new Map(Object.entries(flags));
    const changed: string[] = [];
    for (const [key, f] of next) {
      const before = this.flags.get(key);
      if (!before || !sameFlag(before, f)) changed.push(key);
    }
    for (const key of this.flags.keys()) if (!next.has(key)) changed.push(key);
    this.flags = next;
    this.rev = revision;
    this.afterApply(changed, fromNetwork);
  }

  private afterApply(changed: string[], fromNetwork: boolean): void {
    const first = !this.current;
    this.haveValues = true;
    this.current = true;
    if (fromNetwork) this.fromNetwork = true;
    if (first) {
      this.settle();
      this.emit('ready');
    }
    if (changed.length) this.emit('change', changed.sort());
    if (!fromNetwork) return;
    this.cache?.save(this.ctx, { revision: this.rev, flags: Object.fromEntries(this.flags) });
    this.emit('revision', this.rev);
    if (this.options.acknowledge !== false && this.rev > 0) this.acknowledge(this.rev);
  }

  private acknowledge(revision: number): void {
    if (this.ackQueue.length >= MAX_PENDING_ACKS) this.ackQueue.shift();
    this.ackQueue.push(revision);
    this.acking ??= this.sendAcks();
  }

  private async sendAcks(): Promise<void> {
    await Promise.resolve();
    try {
      for (let next = this.ackQueue.shift(); next !== undefined && !this.closed; next = this.ackQueue.shift()) {
        await this.transport.ack(next, this.ackAbort.signal);
      }
    } catch {
      // receipts are best effort
    } finally {
      this.acking = null;
    }
  }

  /** Waits `ms` (or, with null, until woken by identify() or close()). The timer never keeps Node alive. */
  private sleep(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      if (ms === null) return;
      const timer = setTimeout(resolve, ms);
      // Node: a client waiting to reconnect must not keep the process alive (browsers return a number).
      if (typeof timer === 'object' && 'unref' in timer) timer.unref();
      this.sleepTimer = timer;
    });
  }

  private wakeUp(): void {
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.sleepTimer = null;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

function sameFlag(a: EvaluatedFlagV1, b: EvaluatedFlagV1): boolean {
  return a.reason === b.reason && a.errorCode === b.errorCode && a.experiment === b.experiment && a.experimentUnit === b.experimentUnit && sameValue(a, b);
}

function sameValue(a: EvaluatedFlagV1, b: EvaluatedFlagV1): boolean {
  return a.variant === b.variant && JSON.stringify(a.value) === JSON.stringify(b.value);
}

function isRevision(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isFlagMap(value: unknown): value is Record<string, EvaluatedFlagV1> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value).every((f: unknown) => f !== null && typeof f === 'object' && typeof (f as { reason?: unknown }).reason === 'string');
}

function valueOf(f: EvaluatedFlagV1 | undefined): unknown {
  return f && f.reason !== 'ERROR' ? f.value : undefined;
}

/** A copy of the context as JSON would send it, so later changes to the caller's object do not leak in. */
function snapshotOf(context: EvaluationContext): EvaluationContext {
  const text = JSON.stringify(context ?? {});
  const copy: unknown = JSON.parse(text);
  if (copy === null || typeof copy !== 'object' || Array.isArray(copy)) throw new TypeError('the evaluation context must be a JSON object');
  return Object.freeze(copy as EvaluationContext);
}

/** `globalThis.localStorage`, when there is one and it may be used (sandboxed frames throw). */
function defaultStorage(): StorageLike | null {
  try {
    const storage = (globalThis as { localStorage?: StorageLike }).localStorage;
    return storage ?? null;
  } catch {
    return null;
  }
}
