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
} from '@openfeature/server-sdk';
import {
  FlagstreamAuthError,
  FlagstreamClient,
  type ErrorCode as FlagstreamErrorCode,
  type EvaluationDetail,
  type FlagstreamClientOptions,
} from '../flagstream-client';

/** Our reasons (OpenFeature's standard reasons, by name). */
type FlagstreamReason = EvaluationDetail<unknown>['reason'];

/** Options of the provider itself (the client's options are passed separately). */
export interface FlagstreamProviderOptions {
  /**
   * How long `initialize()` waits for the client's first state (from the network, the cache or a
   * bootstrap snapshot) before OpenFeature reports the provider in ERROR. Default 5000 ms. The
   * client keeps trying afterwards; the provider emits READY when it gets a state.
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
 * An OpenFeature server provider (`@openfeature/server-sdk`) backed by a {@link FlagstreamClient}:
 * flags are evaluated locally from the streamed state, with no network round trip per evaluation.
 *
 * ```ts
 * import { OpenFeature } from '@openfeature/server-sdk';
 * import { FlagstreamProvider } from '@flagstream/sdk/openfeature';
 *
 * await OpenFeature.setProviderAndWait(new FlagstreamProvider({ sdkKey, baseUrl }));
 * const enabled = await OpenFeature.getClient().getBooleanValue('new-checkout', false, { targetingKey: user.id });
 * ```
 *
 * Ownership: given client options, the provider creates its client and closes it in `onClose()`
 * (when OpenFeature replaces the provider or shuts down). Given an existing `FlagstreamClient`,
 * the provider only borrows it: `onClose()` detaches the provider's listeners and leaves the client
 * open, for its owner to close.
 *
 * Events: READY when the client has a state (emitted by OpenFeature itself when `initialize()`
 * resolves, and by the provider when a state arrives after a failed initialisation or when the
 * stream comes back after STALE); STALE when the stream is lost after READY (the provider keeps
 * serving the last state while the client reconnects); CONFIGURATION_CHANGED with `flagsChanged`
 * listing the keys whose definition changed; ERROR with `errorCode: PROVIDER_FATAL` when the
 * client gives up (the SDK key was refused), which puts the provider in OpenFeature's FATAL
 * status. Non-fatal client errors (a failed reconnection attempt, a resync) are not provider
 * events; listen to them on {@link FlagstreamProvider.client} if needed.
 *
 * Context: the merged OpenFeature evaluation context is passed to the engine as it is.
 * `targetingKey` is our `targetingKey`; other attributes are addressed by dot paths in rules
 * (`tenant.plan` reads `{ tenant: { plan } }`); `Date` values count as dates for `before`/`after`
 * (as do epoch milliseconds and ISO 8601 strings) and as mistyped, never matching, for other
 * operators; arrays match when any element matches.
 */
export class FlagstreamProvider implements Provider {
  /** Provider metadata: its name is `flagstream`. */
  readonly metadata = { name: 'flagstream' } as const;
  /** This provider runs on servers (`@openfeature/server-sdk`). */
  readonly runsOn: Paradigm = 'server';
  /** The provider's events, as OpenFeature reads them. */
  readonly events = new OpenFeatureEventEmitter();
  /** The Flagstream client the provider evaluates with (created by it, or the one it was given). */
  readonly client: FlagstreamClient;

  private readonly ownsClient: boolean;
  private readonly readyTimeoutMs: number;
  private readonly unsubscribe: Array<() => void>;
  private initializing = false;
  private initializationFailed = false;
  private fatal: Error | null = null;
  private seenReady: boolean;
  private stale = false;
  /** The first state's `change` (every key) is not a configuration change for OpenFeature. */
  private swallowFirstChange = false;

  /**
   * @param client the options of a client for the provider to create and own, or an existing
   *   client for it to borrow (see the class documentation on who closes it).
   * @param options the provider's own options.
   */
  constructor(client: FlagstreamClientOptions | FlagstreamClient, options: FlagstreamProviderOptions = {}) {
    this.ownsClient = !(client instanceof FlagstreamClient);
    this.client = client instanceof FlagstreamClient ? client : new FlagstreamClient(client);
    this.readyTimeoutMs = options.readyTimeoutMs ?? 5000;
    this.seenReady = this.client.isReady;
    this.unsubscribe = [
      this.client.on('ready', () => this.onReady()),
      this.client.on('change', (keys) => this.onChange(keys)),
      this.client.on('error', (error, fatal) => {
        if (fatal) this.onFatal(error);
      }),
      this.client.on('disconnected', (error) => this.onDisconnected(error)),
      this.client.on('connected', () => this.onConnected()),
    ];
  }

  /**
   * Waits for the client's first state. Rejects with a `ProviderFatalError` (OpenFeature status
   * FATAL) when the SDK key is refused, and with a `GeneralError` (status ERROR) on a timeout.
   */
  async initialize(): Promise<void> {
    this.initializing = true;
    try {
      await this.client.ready(this.readyTimeoutMs);
      this.initializationFailed = false;
    } catch (e) {
      this.initializationFailed = true;
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof FlagstreamAuthError || this.fatal) throw new ProviderFatalError(message);
      throw new GeneralError(message);
    } finally {
      this.initializing = false;
    }
  }

  /** Resolves a boolean flag. */
  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: OpenFeatureContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolution(this.client.booleanDetail(flagKey, context, defaultValue)));
  }

  /** Resolves a string flag. */
  resolveStringEvaluation(flagKey: string, defaultValue: string, context: OpenFeatureContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolution(this.client.stringDetail(flagKey, context, defaultValue)));
  }

  /** Resolves a number flag. */
  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: OpenFeatureContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolution(this.client.numberDetail(flagKey, context, defaultValue)));
  }

  /** Resolves a JSON flag (OpenFeature's "object" type). */
  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: OpenFeatureContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolution(this.client.jsonDetail<T>(flagKey, context, defaultValue)));
  }

  /**
   * Detaches the provider from its client (it emits no more events), and closes the client if the
   * provider created it. A closed provider is not meant to be registered again.
   */
  async onClose(): Promise<void> {
    for (const stop of this.unsubscribe.splice(0)) stop();
    if (this.ownsClient) await this.client.close();
  }

  private resolution<T>(detail: EvaluationDetail<T>): ResolutionDetails<T> {
    const flagMetadata: FlagMetadata = { revision: this.client.revision };
    if (detail.ruleId !== undefined) flagMetadata['ruleId'] = detail.ruleId;
    if (detail.experiment !== undefined) flagMetadata['experiment'] = detail.experiment;
    if (detail.experimentUnit !== undefined) flagMetadata['experimentUnit'] = detail.experimentUnit;
    const out: ResolutionDetails<T> = { value: detail.value, reason: REASONS[detail.reason] ?? StandardResolutionReasons.UNKNOWN, flagMetadata };
    if (detail.variation !== undefined) out.variant = detail.variation;
    if (detail.errorCode !== undefined) out.errorCode = ERROR_CODES[detail.errorCode] ?? ErrorCode.GENERAL;
    if (detail.errorMessage !== undefined) out.errorMessage = detail.errorMessage;
    return out;
  }

  private onReady(): void {
    this.seenReady = true;
    this.swallowFirstChange = true;
    // The client reports the first state's keys right after `ready`, in the same turn.
    queueMicrotask(() => {
      this.swallowFirstChange = false;
    });
    if (this.initializationFailed && !this.fatal) {
      // initialize() timed out (OpenFeature status ERROR); the state arrived since.
      this.initializationFailed = false;
      this.events.emit(ProviderEvents.Ready, { message: 'flags loaded after the initialization timeout' });
    }
  }

  private onChange(keys: string[]): void {
    if (!this.seenReady) return;
    if (this.swallowFirstChange) {
      this.swallowFirstChange = false;
      return;
    }
    this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: [...keys], metadata: { revision: this.client.revision } });
  }

  private onFatal(error: Error): void {
    this.fatal = error;
    this.stale = false;
    // During initialize() the rejection reports it; OpenFeature emits the ERROR event itself.
    if (this.initializing) return;
    this.events.emit(ProviderEvents.Error, { message: error.message, errorCode: ErrorCode.PROVIDER_FATAL });
  }

  private onDisconnected(error: Error | null): void {
    if (!this.seenReady || this.stale || this.fatal) return;
    this.stale = true;
    this.events.emit(ProviderEvents.Stale, {
      message: error ? `lost the stream (${error.message}); serving the last state while reconnecting` : 'lost the stream; serving the last state while reconnecting',
    });
  }

  private onConnected(): void {
    if (!this.stale || this.fatal) return;
    this.stale = false;
    this.events.emit(ProviderEvents.Ready, { message: 'stream reconnected' });
  }
}
