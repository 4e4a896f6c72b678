import {
  ErrorCode,
  GeneralError,
  OpenFeatureEventEmitter,
  ProviderEvents,
  ProviderFatalError,
  StandardResolutionReasons,
  type EvaluationContext as OpenFeatureContext,
  type FlagMetadata,
  type JsonValue,
  type Paradigm,
  type Provider,
  type ResolutionDetails,
  type ResolutionReason,
} from '@openfeature/web-sdk';
import {
  FlagstreamAuthError,
  FlagstreamBrowserClient,
  type ErrorCode as FlagstreamErrorCode,
  type EvaluationDetail,
  type FlagstreamBrowserClientOptions,
} from '../client/flagstream-browser-client';

/** Our reasons (OpenFeature's standard reasons, by name). */
type FlagstreamReason = EvaluationDetail<unknown>['reason'];

/** The browser client's options, less the context: OpenFeature supplies it. */
export type FlagstreamWebClientOptions = Omit<FlagstreamBrowserClientOptions, 'context'>;

/** Options of the provider itself. */
export interface FlagstreamWebProviderOptions {
  /**
   * How long `initialize()` and `onContextChange()` wait for the context's values (from the
   * stream or the cache) before OpenFeature reports the provider in ERROR. Default 5000 ms. The
   * client keeps trying; the provider emits READY when the values arrive.
   */
  readyTimeoutMs?: number;
}

/** Our reasons carry OpenFeature's names; the table is explicit so a new reason must be mapped. */
const REASONS: Record<FlagstreamReason, ResolutionReason> = {
  STATIC: StandardResolutionReasons.STATIC,
  DEFAULT: StandardResolutionReasons.DEFAULT,
  TARGETING_MATCH: StandardResolutionReasons.TARGETING_MATCH,
  SPLIT: StandardResolutionReasons.SPLIT,
  DISABLED: StandardResolutionReasons.DISABLED,
  ERROR: StandardResolutionReasons.ERROR,
};

/** Our error codes, mapped to OpenFeature's; a new code must be mapped here to compile. */
const ERROR_CODES: Record<FlagstreamErrorCode, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  TARGETING_KEY_MISSING: ErrorCode.TARGETING_KEY_MISSING,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  GENERAL: ErrorCode.GENERAL,
  PROVIDER_NOT_READY: ErrorCode.PROVIDER_NOT_READY,
};

/**
 * An OpenFeature web provider (`@openfeature/web-sdk`) backed by a {@link FlagstreamBrowserClient}:
 * the gateway evaluates the client-visible flags for the context and streams the values; every
 * evaluation reads them locally, with no network round trip.
 *
 * ```ts
 * import { OpenFeature } from '@openfeature/web-sdk';
 * import { FlagstreamWebProvider } from '@flagstream/sdk/openfeature-web';
 *
 * await OpenFeature.setProviderAndWait(new FlagstreamWebProvider({ sdkKey: 'fs_client_…', baseUrl }), { targetingKey: user.id });
 * OpenFeature.getClient().getBooleanValue('new-checkout', false);
 * await OpenFeature.setContext({ targetingKey: other.id }); // the provider identify()s
 * ```
 *
 * Ownership: given client options (without `context`), the provider creates its client in
 * `initialize(context)` and closes it in `onClose()`. Given an existing `FlagstreamBrowserClient`,
 * the provider borrows it: `initialize(context)` switches it to OpenFeature's context (when it
 * differs) and `onClose()` only detaches the provider's listeners, leaving the client to its owner.
 *
 * Context: OpenFeature's context is sent to the gateway as our evaluation context, as JSON:
 * `targetingKey` is our `targetingKey`, other attributes pass through (nested objects are
 * addressed by dot paths in rules, `Date` values travel as ISO 8601 strings). In the web
 * paradigm the context is static: the `context` argument of each resolve call is the one the
 * provider already holds values for, so it is not read again; `onContextChange` calls
 * `identify()`, which serves cached values of that context at once when there are any.
 *
 * Events: READY is emitted by OpenFeature when `initialize()` resolves, and by the provider when
 * values arrive after a timed-out initialisation or context change, or when the stream comes back
 * after STALE; STALE when the stream is lost after READY (the last values keep being served while
 * the client reconnects); CONFIGURATION_CHANGED with `flagsChanged` listing the keys whose value,
 * variant or reason changed for the context (a context switch itself is reported by OpenFeature's
 * CONTEXT_CHANGED, not as a configuration change); ERROR with `errorCode: PROVIDER_FATAL` when the
 * client gives up (the SDK key was refused), which puts the provider in OpenFeature's FATAL status.
 */
export class FlagstreamWebProvider implements Provider {
  /** Provider metadata: its name is `flagstream-web`. */
  readonly metadata = { name: 'flagstream-web' } as const;
  /** This provider runs in browsers (`@openfeature/web-sdk`). */
  readonly runsOn: Paradigm = 'client';
  /** The provider's events, as OpenFeature reads them. */
  readonly events = new OpenFeatureEventEmitter();

  private browserClient: FlagstreamBrowserClient | undefined;
  private readonly clientOptions: FlagstreamWebClientOptions | null = null;
  private readonly ownsClient: boolean;
  private readonly readyTimeoutMs: number;
  private unsubscribe: Array<() => void> = [];
  /** initialize() or onContextChange() is waiting: changes are part of it, not configuration changes. */
  private settling = 0;
  /** The last initialize()/onContextChange() failed (not fatally): READY is owed when values arrive. */
  private failed = false;
  private fatal: Error | null = null;
  private stale = false;
  private closed = false;
  /** The values that end a failure arrive with `ready` then `change` in one turn: that change is no configuration change. */
  private recovering = false;

  /**
   * @param client - the options of a client for the provider to create (in `initialize`) and own,
   *   or an existing client for it to borrow (see the class documentation on who closes it).
   * @param options - the provider's own options.
   */
  constructor(client: FlagstreamWebClientOptions | FlagstreamBrowserClient, options: FlagstreamWebProviderOptions = {}) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 5000;
    if (client instanceof FlagstreamBrowserClient) {
      this.ownsClient = false;
      this.attach(client);
    } else {
      this.ownsClient = true;
      this.clientOptions = client;
    }
  }

  /** The Flagstream client the provider reads (undefined before `initialize()` when the provider creates it). */
  get client(): FlagstreamBrowserClient | undefined {
    return this.browserClient;
  }

  /**
   * Starts (or switches) the client to `context` and waits for its values. Rejects with a
   * `ProviderFatalError` (OpenFeature status FATAL) when the SDK key is refused, and with a
   * `GeneralError` (status ERROR) on a timeout or a refused context.
   */
  async initialize(context: OpenFeatureContext = {}): Promise<void> {
    if (this.closed) throw new GeneralError('the Flagstream provider was closed');
    await this.settle(async () => {
      const existing = this.browserClient;
      if (existing) return existing.identify(toContext(context), this.readyTimeoutMs);
      if (!this.clientOptions) throw new GeneralError('the Flagstream provider has no client options');
      const created = new FlagstreamBrowserClient({ ...this.clientOptions, context: toContext(context) });
      this.attach(created);
      await created.ready(this.readyTimeoutMs);
    });
  }

  /** Switches the client to the new context (`identify()`); OpenFeature is RECONCILING meanwhile. */
  async onContextChange(_oldContext: OpenFeatureContext, newContext: OpenFeatureContext): Promise<void> {
    const client = this.browserClient;
    if (!client) return;
    await this.settle(() => client.identify(toContext(newContext), this.readyTimeoutMs));
  }

  /** Resolves a boolean flag for the provider's context. */
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean> {
    return this.resolution((c) => c.booleanDetail(flagKey, defaultValue), defaultValue);
  }

  /** Resolves a string flag for the provider's context. */
  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string> {
    return this.resolution((c) => c.stringDetail(flagKey, defaultValue), defaultValue);
  }

  /** Resolves a number flag for the provider's context. */
  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number> {
    return this.resolution((c) => c.numberDetail(flagKey, defaultValue), defaultValue);
  }

  /** Resolves a JSON flag (OpenFeature's "object" type) for the provider's context. */
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    return this.resolution((c) => c.jsonDetail<T>(flagKey, defaultValue), defaultValue);
  }

  /**
   * Detaches the provider from its client (it emits no more events), and closes the client if the
   * provider created it. A closed provider is not meant to be registered again.
   */
  async onClose(): Promise<void> {
    this.closed = true;
    for (const stop of this.unsubscribe.splice(0)) stop();
    if (this.ownsClient) await this.browserClient?.close();
  }

  private attach(client: FlagstreamBrowserClient): void {
    this.browserClient = client;
    this.unsubscribe = [
      client.on('ready', () => this.onReady()),
      client.on('change', (keys) => this.onChange(keys)),
      client.on('error', (error, fatal) => {
        if (fatal) this.onFatal(error);
      }),
      client.on('disconnected', (error) => this.onDisconnected(error)),
      client.on('connected', () => this.onConnected()),
    ];
  }

  /** Runs initialize()/onContextChange() work, translating failures into OpenFeature's errors. */
  private async settle(work: () => Promise<void>): Promise<void> {
    this.settling++;
    try {
      await work();
      this.failed = false;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof FlagstreamAuthError || this.fatal) throw new ProviderFatalError(message);
      this.failed = true;
      throw new GeneralError(message);
    } finally {
      this.settling--;
    }
  }

  private resolution<T>(read: (client: FlagstreamBrowserClient) => EvaluationDetail<T>, defaultValue: T): ResolutionDetails<T> {
    const client = this.browserClient;
    if (!client) return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.PROVIDER_NOT_READY, errorMessage: 'the provider is not initialized' };
    const detail = read(client);
    const flagMetadata: FlagMetadata = { revision: client.revision };
    if (detail.experiment !== undefined) flagMetadata['experiment'] = detail.experiment;
    if (detail.experimentUnit !== undefined) flagMetadata['experimentUnit'] = detail.experimentUnit;
    const out: ResolutionDetails<T> = { value: detail.value, reason: REASONS[detail.reason] ?? StandardResolutionReasons.UNKNOWN, flagMetadata };
    if (detail.variation !== undefined) out.variant = detail.variation;
    if (detail.errorCode !== undefined) out.errorCode = ERROR_CODES[detail.errorCode] ?? ErrorCode.GENERAL;
    if (detail.errorMessage !== undefined) out.errorMessage = detail.errorMessage;
    return out;
  }

  private onReady(): void {
    if (!this.failed || this.settling || this.fatal) return;
    // initialize() or onContextChange() timed out (OpenFeature status ERROR); the values arrived since.
    this.failed = false;
    this.recovering = true;
    queueMicrotask(() => {
      this.recovering = false;
    });
    this.events.emit(ProviderEvents.Ready, { message: 'flag values arrived after the timeout' });
  }

  private onChange(keys: string[]): void {
    if (this.settling || this.failed || this.recovering || this.fatal) return;
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [...keys], metadata: { revision: this.browserClient?.revision ?? 0 } });
  }

  private onFatal(error: Error): void {
    this.fatal = error;
    this.stale = false;
    // While initialize()/onContextChange() waits, its rejection reports it.
    if (this.settling) return;
    this.events.emit(ProviderEvents.Error, { message: error.message, errorCode: ErrorCode.PROVIDER_FATAL });
  }

  private onDisconnected(error: Error | null): void {
    if (this.settling || this.failed || this.stale || this.fatal || !this.browserClient?.isReady) return;
    this.stale = true;
    this.events.emit(ProviderEvents.Stale, {
      message: error ? `lost the stream (${error.message}); serving the last values while reconnecting` : 'lost the stream; serving the last values while reconnecting',
    });
  }

  private onConnected(): void {
    if (!this.stale || this.fatal) return;
    this.stale = false;
    this.events.emit(ProviderEvents.Ready, { message: 'stream reconnected' });
  }
}

/** OpenFeature's context as ours: the same attributes, `targetingKey` included. */
function toContext(context: OpenFeatureContext): Record<string, unknown> {
  return { ...context };
}
