import { KEY_PATTERN, METRIC_NAME_PATTERN, SDK_EVENT_LIMITS, SDK_EVENTS_VERSION, type SdkEventV1, type SdkExposureEventV1 } from '@flagstream/protocol';
import type { ExposureEvent } from './exposure.reporter';

/** Options of {@link gatewayExposureSender} and {@link gatewayMetricSender}. */
export interface GatewayEventsSenderOptions {
  /** The gateway, e.g. `http://localhost:4001`. */
  baseUrl: string;
  /** An SDK key of the environment (server or client), sent as `Authorization: Bearer`. */
  sdkKey: string;
  /** Defaults to the global `fetch` (Node 18+, browsers). */
  fetch?: typeof fetch;
  /**
   * How many more times a request is tried after the gateway answered 429 or 5xx, or the request
   * failed or timed out. Default 2.
   */
  retries?: number;
  /** Longest wait before a retry; the gateway's `Retry-After` is honoured up to this. Default 5000 ms. */
  maxRetryDelayMs?: number;
  /** A request that takes longer is aborted (and retried). Default 10,000 ms. */
  timeoutMs?: number;
  /**
   * Receives each event left out because the gateway would refuse it (for exposures: no
   * `variation` or no `contextKey`, a context key or experiment unit over 256 characters, an
   * experiment key that is not a slug, a time more than 30 days ago or 24 hours ahead; for metrics
   * also a bad name or a value that is not a finite number).
   * One bad event would make the gateway refuse its whole request, so such events are never sent.
   */
  onSkipped?(event: ExposureEvent | MetricEvent, reason: string): void;
}

/** One observation of a metric, for {@link gatewayMetricSender}. */
export interface MetricEvent {
  /** The metric's name: a letter, then letters, digits, `_`, `.`, `:` or `-`; at most 128 characters. */
  name: string;
  /** A finite number: 1 for an occurrence (an error), a duration, an amount… */
  value: number;
  /** The context's `targetingKey`: the unit guardrails and experiments count. */
  contextKey: string;
  /** When it happened, in milliseconds since the Unix epoch. Default: when it is sent. */
  timestamp?: number;
}

/** The gateway refused a batch of events, or could not be reached (after the retries). */
export class GatewayEventsError extends Error {
  /**
   * @param status the gateway's HTTP status; absent when no answer came (network failure, timeout).
   * @param message what went wrong, with the gateway's own message when it sent one.
   */
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayEventsError';
  }
}

/**
 * A `send` function for `FlagstreamClient`'s `exposures` option that delivers exposures to the
 * gateway's `POST /sdk/v1/events`:
 *
 * ```ts
 * new FlagstreamClient({ baseUrl, sdkKey, exposures: { send: gatewayExposureSender({ baseUrl, sdkKey }) } });
 * ```
 *
 * Each batch goes out in as few requests as the gateway's limits allow (1,000 events and 512 KiB
 * each). A request the gateway answers 429 or 5xx to (or that fails in transit) is retried, after
 * its `Retry-After` when it gives one. The returned promise rejects with a
 * {@link GatewayEventsError} when a request is finally refused; the client then counts that
 * batch as dropped. Exposures without a `variation` or a `contextKey` (contexts without a
 * `targetingKey`) are left out: the gateway counts units, and they have none. An exposure that
 * puts its unit into an experiment carries the experiment's key (`experiment`) and, when the
 * experiment's unit is not the `targetingKey`, the unit's value (`unit`).
 */
export function gatewayExposureSender(options: GatewayEventsSenderOptions): (batch: ExposureEvent[]) => Promise<void> {
  const post = poster(options);
  return async (batch) => {
    const now = Date.now();
    const events: SdkEventV1[] = [];
    for (const e of batch) {
      const reason = exposureProblem(e, now);
      if (reason) {
        options.onSkipped?.(e, reason);
        continue;
      }
      const event: SdkExposureEventV1 = { kind: 'exposure', flag: e.flag, variation: e.variation as string, contextKey: e.contextKey as string, timestamp: e.timestamp };
      if (e.experiment !== undefined) {
        event.experiment = e.experiment;
        if (e.unit !== undefined) event.unit = e.unit;
      }
      events.push(event);
    }
    await post(events);
  };
}

/**
 * A `send` function for metric events (the numbers guardrails watch, such as an error count),
 * delivered to the gateway's `POST /sdk/v1/events` like {@link gatewayExposureSender} does
 * exposures: split to the gateway's limits, retried on 429, 5xx and network failures.
 *
 * ```ts
 * const sendMetrics = gatewayMetricSender({ baseUrl, sdkKey });
 * await sendMetrics([{ name: 'checkout.errors', value: 1, contextKey: user.id }]);
 * ```
 */
export function gatewayMetricSender(options: GatewayEventsSenderOptions): (batch: MetricEvent[]) => Promise<void> {
  const post = poster(options);
  return async (batch) => {
    const now = Date.now();
    const events: SdkEventV1[] = [];
    for (const e of batch) {
      const timestamp = e.timestamp ?? now;
      const reason = metricProblem(e, timestamp, now);
      if (reason) options.onSkipped?.(e, reason);
      else events.push({ kind: 'metric', name: e.name, value: e.value, contextKey: e.contextKey, timestamp });
    }
    await post(events);
  };
}

function exposureProblem(e: ExposureEvent, now: number): string | null {
  if (typeof e.variation !== 'string' || !KEY_PATTERN.test(e.variation)) return 'no variation';
  if (!KEY_PATTERN.test(e.flag)) return 'the flag key is not a slug';
  if (e.experiment !== undefined && (typeof e.experiment !== 'string' || !KEY_PATTERN.test(e.experiment))) return 'the experiment key is not a slug';
  // Sent without its unit, the exposure would count the wrong unit: it is left out instead.
  if (e.experiment !== undefined && e.unit !== undefined && (typeof e.unit !== 'string' || e.unit === '' || e.unit.length > SDK_EVENT_LIMITS.maxContextKeyLength)) {
    return `the experiment unit is empty or longer than ${SDK_EVENT_LIMITS.maxContextKeyLength} characters`;
  }
  return contextKeyProblem(e.contextKey) ?? timeProblem(e.timestamp, now);
}

function metricProblem(e: MetricEvent, timestamp: number, now: number): string | null {
  if (typeof e.name !== 'string' || !METRIC_NAME_PATTERN.test(e.name)) return `the metric name must match ${METRIC_NAME_PATTERN.source}`;
  if (typeof e.value !== 'number' || !Number.isFinite(e.value)) return 'the value is not a finite number';
  if (Math.abs(e.value) > SDK_EVENT_LIMITS.maxMetricMagnitude) return 'the value is beyond ±1e12';
  return contextKeyProblem(e.contextKey) ?? timeProblem(timestamp, now);
}

function contextKeyProblem(contextKey: unknown): string | null {
  if (typeof contextKey !== 'string' || contextKey === '') return 'no contextKey';
  return contextKey.length > SDK_EVENT_LIMITS.maxContextKeyLength ? `the contextKey is longer than ${SDK_EVENT_LIMITS.maxContextKeyLength} characters` : null;
}

function timeProblem(timestamp: number, now: number): string | null {
  if (!Number.isFinite(timestamp) || timestamp < 0) return 'the timestamp is not a time';
  // A small margin, so that clock skew on the way cannot make the gateway refuse the request.
  if (timestamp > now + SDK_EVENT_LIMITS.maxFutureMs - 60_000) return 'the timestamp is more than 24 hours ahead';
  if (timestamp < now - SDK_EVENT_LIMITS.maxPastMs + 60_000) return 'the timestamp is more than 30 days ago';
  return null;
}

/** Room kept free in each request body, for the envelope. */
const ENVELOPE_BYTES = 64;

/** Sends events in requests within the gateway's limits, one request at a time. */
function poster(options: GatewayEventsSenderOptions): (events: SdkEventV1[]) => Promise<void> {
  const fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const url = `${options.baseUrl.replace(/\/+$/, '')}/sdk/v1/events`;
  const retries = Math.max(0, Math.floor(options.retries ?? 2));
  const maxDelay = Math.max(0, options.maxRetryDelayMs ?? 5000);
  const timeoutMs = Math.max(1, options.timeoutMs ?? 10_000);

  async function once(body: string): Promise<{ ok: true } | { ok: false; error: GatewayEventsError; retryable: boolean; retryAfterMs?: number }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    unref(timer);
    try {
      const res = await fetchImpl(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${options.sdkKey}`, 'Content-Type': 'application/json' },
        body,
        signal: controller.signal,
      });
      const text = await res.text();
      if (res.ok) return { ok: true };
      const retryAfter = Number(res.headers.get('retry-after'));
      return {
        ok: false,
        error: new GatewayEventsError(res.status, `the gateway refused the events (${res.status}: ${gatewayMessage(text)})`),
        retryable: res.status === 429 || res.status >= 500,
        retryAfterMs: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : undefined,
      };
    } catch (e) {
      const why = controller.signal.aborted ? `no answer within ${timeoutMs} ms` : e instanceof Error ? e.message : String(e);
      return { ok: false, error: new GatewayEventsError(undefined, `sending events to the gateway failed: ${why}`), retryable: true };
    } finally {
      clearTimeout(timer);
    }
  }

  async function send(body: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const result = await once(body);
      if (result.ok) return;
      if (!result.retryable || attempt >= retries) throw result.error;
      const delay = Math.min(maxDelay, result.retryAfterMs ?? 250 * 2 ** attempt);
      await new Promise((resolve) => unref(setTimeout(resolve, delay)));
    }
  }

  return async (events) => {
    let delivered = 0;
    for (const chunk of chunks(events)) {
      try {
        await send(`{"v":${SDK_EVENTS_VERSION},"events":[${chunk.join(',')}]}`);
      } catch (e) {
        if (delivered && e instanceof GatewayEventsError) throw new GatewayEventsError(e.status, `${e.message}; ${delivered} of ${events.length} events had been delivered`);
        throw e;
      }
      delivered += chunk.length;
    }
  };
}

/** Serialised events grouped into request bodies within the gateway's count and byte limits. */
function* chunks(events: SdkEventV1[]): Generator<string[]> {
  let chunk: string[] = [];
  let bytes = ENVELOPE_BYTES;
  for (const event of events) {
    const json = JSON.stringify(event);
    const size = utf8Length(json) + 1;
    if (chunk.length && (chunk.length >= SDK_EVENT_LIMITS.maxEventsPerBatch || bytes + size > SDK_EVENT_LIMITS.maxBatchBytes)) {
      yield chunk;
      chunk = [];
      bytes = ENVELOPE_BYTES;
    }
    chunk.push(json);
    bytes += size;
  }
  if (chunk.length) yield chunk;
}

/** Bytes of `text` in UTF-8 (lone surrogates count as the 3 bytes of U+FFFD, as encoders write them). */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** The gateway's error message from its error body, or the start of whatever it sent. */
function gatewayMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown; details?: Array<{ path?: unknown; message?: unknown }> } };
    const message = body.error?.message;
    if (typeof message === 'string') {
      const first = body.error?.details?.[0];
      return first && typeof first.path === 'string' ? `${message} (${first.path}: ${String(first.message)})` : message;
    }
  } catch {
    // not the gateway's error body
  }
  return text.slice(0, 200) || 'no message';
}

/** Timers must not keep a process alive (Node); browsers have no `unref`. */
function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
