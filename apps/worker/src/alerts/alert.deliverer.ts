import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { AlertEvent } from './alert-event';
import { webhookOrigin, type AlertWebhook } from './alert.env';
import type { AlertMetrics } from './alert.metrics';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';

/** The `fetch` the deliverer calls (the global one; tests pass their own). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** A job's return value: the receiver's status, which attempt succeeded, and how long it took. */
export interface AlertDeliveryResult {
  status: number;
  attempt: number;
  ms: number;
}

/** Options of {@link AlertDeliverer}. */
export interface AlertDelivererOptions {
  fetch?: FetchLike;
  /** Clock of the signature timestamp, in milliseconds. */
  now?: () => number;
}

/** Response bodies are logged this far, no further: receivers may echo what they were sent. */
export const LOGGED_BODY_CHARS = 200;
const USER_AGENT = 'flagstream-worker';

/**
 * Processor of the alerts queue: POSTs the event as JSON to the webhook, signed. A 2xx delivers
 * it; 408, 429, 5xx, network errors and timeouts throw so BullMQ retries with backoff; any other
 * status means the receiver refuses this delivery, so it fails without retry (`UnrecoverableError`).
 * Redirects are not followed: a 3xx is a refused delivery (configure the final URL).
 */
export class AlertDeliverer {
  private readonly fetch: FetchLike;
  private readonly now: () => number;
  private readonly target: string;

  constructor(
    private readonly webhook: AlertWebhook,
    private readonly metrics: AlertMetrics,
    private readonly logger: Logger,
    options: AlertDelivererOptions = {},
  ) {
    this.fetch = options.fetch ?? ((url, init) => fetch(url, init));
    this.now = options.now ?? Date.now;
    this.target = webhookOrigin(webhook.url);
  }

  /**
   * One delivery attempt of the job's event, signed at the time of the attempt. Resolves when the
   * receiver accepted it; rejects to have BullMQ retry it, or with `UnrecoverableError` to fail it.
   */
  async process(job: Job<AlertEvent>): Promise<AlertDeliveryResult> {
    const event = job.data;
    const attempt = job.attemptsMade + 1;
    const last = attempt >= (job.opts.attempts ?? 1);
    const body = JSON.stringify(event);
    const started = Date.now();
    const context = { alert: event.id, alertType: event.type, attempt, target: this.target };
    let response: Response;
    try {
      response = await this.fetch(this.webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'flagstream-event-id': event.id,
          'flagstream-event-type': event.type,
          'flagstream-delivery-attempt': String(attempt),
          [SIGNATURE_HEADER]: signWebhook(this.webhook.secret, Math.floor(this.now() / 1000), body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.webhook.timeoutMs),
      });
    } catch (err) {
      const reason = isTimeout(err) ? `no answer within ${this.webhook.timeoutMs} ms` : `network error: ${describe(err)}`;
      this.metrics.deliveries.inc({ outcome: 'retry' });
      this.logRetry({ ...context, ms: Date.now() - started, error: reason }, last);
      throw new Error(`alert delivery failed: ${reason}`);
    }
    const { status } = response;
    const ms = Date.now() - started;
    if (status >= 200 && status < 300) {
      await discard(response);
      this.metrics.deliveries.inc({ outcome: 'delivered' });
      this.logger.info({ ...context, status, ms }, 'alert delivered');
      return { status, attempt, ms };
    }
    const responseBody = await snippet(response, LOGGED_BODY_CHARS);
    if (status === 408 || status === 429 || status >= 500) {
      this.metrics.deliveries.inc({ outcome: 'retry' });
      this.logRetry({ ...context, status, ms, responseBody }, last);
      throw new Error(`alert receiver answered ${status}`);
    }
    this.metrics.deliveries.inc({ outcome: 'refused' });
    this.logger.error({ ...context, status, ms, responseBody }, 'alert refused by the receiver; it will not be retried');
    throw new UnrecoverableError(`alert receiver refused the delivery with ${status}${status < 400 ? ' (redirects are not followed)' : ''}; not retried`);
  }

  private logRetry(fields: object, last: boolean): void {
    if (last) this.logger.error(fields, 'alert delivery failed on its last attempt; the job stays failed for 7 days');
    else this.logger.warn(fields, 'alert delivery failed; it will be retried');
  }
}

// Duck-typed: the timeout's DOMException and undici's errors may come from another realm than `Error`.
interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
}

function isTimeout(err: unknown): boolean {
  const name = (err as ErrorLike | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** fetch's network errors say "fetch failed" and put the reason (ECONNREFUSED...) in `cause`. */
function describe(err: unknown): string {
  const e = err as ErrorLike | null;
  const cause = e?.cause as ErrorLike | null | undefined;
  for (const text of [cause?.code, cause?.message, e?.message]) if (typeof text === 'string' && text) return text;
  return String(err);
}

/** Frees the connection without reading a body nobody needs. */
async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** The first `chars` characters of the body, reading no more than needed; '' when it cannot be read. */
async function snippet(response: Response, chars: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  try {
    // Four bytes per character at most: stop reading once enough bytes have arrived.
    for (let bytes = 0; bytes < chars * 4; ) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // The body timed out or broke off: the status is what matters.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, chars);
}
