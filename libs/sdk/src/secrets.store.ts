import { SDK_SECRETS_VERSION } from '@flagstream/protocol';
import { Backoff, type BackoffOptions } from './backoff';

/** One secret as `FlagstreamClient.secretDetail()` returns it (a copy: changing it changes nothing). */
export interface SecretDetail {
  /** The value, as written through the admin API. */
  value: string;
  /** The version served: the current one of the definition that applies. */
  version: number;
  /** The environment the secret is defined in: the key's own, or one it inherits from. */
  definedIn: string;
  /**
   * Right after a rotation with a grace period: the value it replaced, still valid until `until`
   * (ISO time). Accept both while consumers move over.
   */
  previous?: { version: number; value: string; until: string };
}

/**
 * Reading secrets from the gateway failed. The client reports it as an `error` (fatal only when
 * the first read is refused for good, and then `ready()` rejects with it). The message says why
 * and carries the gateway's own error text; it never carries a secret's value.
 */
export class FlagstreamSecretsError extends Error {
  /**
   * @param status the gateway's HTTP status; absent when no answer came (network failure,
   *   timeout) or the answer could not be read.
   * @param message what went wrong.
   */
  constructor(
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'FlagstreamSecretsError';
  }
}

/** Options of {@link SecretsStore}. */
export interface SecretsStoreOptions {
  /** The gateway, e.g. `http://localhost:4001`. */
  baseUrl: string;
  /** A server SDK key, sent as `Authorization: Bearer`. */
  sdkKey: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Delays between retries of a failed read (the client's reconnection backoff). */
  backoff?: BackoffOptions;
  /** A read that takes longer is aborted and retried. Default 10,000 ms. */
  timeoutMs?: number;
  /** After each successful read: the paths whose secret changed, appeared or disappeared (sorted; may be empty). */
  onRead(changed: string[]): void;
  /** After each failed read. `retrying` false: the store tried its last until the next `refresh()`. */
  onError(error: FlagstreamSecretsError, retrying: boolean): void;
}

type Attempt = { ok: true; secrets: Map<string, SecretDetail> } | { ok: false; error: FlagstreamSecretsError; retryable: boolean; retryAfterMs?: number };

/**
 * A server key's secrets, held in memory only (never written anywhere), read from the gateway's
 * `GET /sdk/v1/secrets` on request. Reads never overlap: requests made while one is in flight
 * collapse into one more read after it, since that read sees every change announced before it
 * starts. Failures the gateway may get over (network, timeout, 429, 5xx, a garbled body) are
 * retried with backoff, after `Retry-After` when the gateway sends one; refusals (401, 403, a
 * gateway that does not serve secrets) are not. A failed read keeps the secrets held.
 */
export class SecretsStore {
  private held = new Map<string, SecretDetail>();
  private hasRead = false;
  /** A read is wanted that has not started yet. */
  private pending = false;
  private busy = false;
  private running: Promise<void> = Promise.resolve();
  private closed = false;
  private request: AbortController | null = null;
  private sleepTimer: ReturnType<typeof setTimeout> | null = null;
  private wake: (() => void) | null = null;
  private readonly url: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(private readonly options: SecretsStoreOptions) {
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/sdk/v1/secrets`;
    this.fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
    this.timeoutMs = Math.max(1, options.timeoutMs ?? 10_000);
  }

  /** Whether a read has succeeded (the secrets held are the gateway's, possibly none). */
  get loaded(): boolean {
    return this.hasRead;
  }

  /** A copy of the secret at `path`, if held. */
  get(path: string): SecretDetail | undefined {
    const s = this.held.get(path);
    return s ? { value: s.value, version: s.version, definedIn: s.definedIn, ...(s.previous ? { previous: { ...s.previous } } : {}) } : undefined;
  }

  /** The value of the secret at `path`, if held. */
  value(path: string): string | undefined {
    return this.held.get(path)?.value;
  }

  /** The paths held, sorted. */
  paths(): string[] {
    return [...this.held.keys()];
  }

  /** Reads the secrets again: now, or right after the read in flight. */
  refresh(): void {
    if (this.closed) return;
    this.pending = true;
    if (this.busy) return;
    this.busy = true;
    this.running = this.drain().catch((e: unknown) => {
      // Only a throwing callback gets here; the store stays usable.
      const reason = e instanceof Error ? e.message : String(e);
      this.report(new FlagstreamSecretsError(undefined, `reading secrets failed: ${reason}`), false);
    });
  }

  /** Aborts the read in flight and any retry; resolves once nothing of the store runs. Keeps the secrets held. */
  async close(): Promise<void> {
    this.closed = true;
    this.request?.abort();
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending && !this.closed) {
        const backoff = new Backoff(this.options.backoff);
        for (;;) {
          // This attempt sees every change announced so far.
          this.pending = false;
          const outcome = await this.attempt();
          if (this.closed) return;
          if (outcome.ok) {
            this.apply(outcome.secrets);
            break;
          }
          if (!outcome.retryable) {
            this.report(outcome.error, false);
            break;
          }
          this.report(outcome.error, true);
          await this.sleep(outcome.retryAfterMs ?? backoff.next());
          if (this.closed) return;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private report(error: FlagstreamSecretsError, retrying: boolean): void {
    if (!this.closed) this.options.onError(error, retrying);
  }

  private async attempt(): Promise<Attempt> {
    const controller = new AbortController();
    this.request = controller;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    (timer as { unref?: () => void }).unref?.();
    try {
      const res = await this.fetchImpl(this.url, {
        headers: { Accept: 'application/json', Authorization: `Bearer ${this.options.sdkKey}` },
        signal: controller.signal,
      });
      const text = await res.text();
      if (res.ok) return parseSecrets(text);
      return refusal(res.status, text, res.headers.get('retry-after'));
    } catch (e) {
      const why = timedOut ? `no answer within ${this.timeoutMs} ms` : e instanceof Error ? e.message : String(e);
      return { ok: false, error: new FlagstreamSecretsError(undefined, `reading secrets failed: ${why}`), retryable: true };
    } finally {
      clearTimeout(timer);
      this.request = null;
    }
  }

  private apply(next: Map<string, SecretDetail>): void {
    const changed: string[] = [];
    for (const [path, s] of next) {
      const was = this.held.get(path);
      if (!was || was.version !== s.version || was.definedIn !== s.definedIn || was.value !== s.value || was.previous?.version !== s.previous?.version) changed.push(path);
    }
    for (const path of this.held.keys()) if (!next.has(path)) changed.push(path);
    this.held = next;
    this.hasRead = true;
    this.options.onRead(changed.sort());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }
}

/**
 * The secrets of a 200 answer, by path in sorted order. A body that is not what the gateway
 * sends is retried (a proxy may have cut it short), except one of another version. Errors say
 * what is wrong without quoting the body: it may hold values.
 */
function parseSecrets(text: string): Attempt {
  const malformed = (what: string): Attempt => ({ ok: false, error: new FlagstreamSecretsError(200, `the gateway sent a secrets body that ${what}`), retryable: true });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return malformed('is not JSON');
  }
  if (!isObject(body)) return malformed('is not an object');
  if (body.v !== SDK_SECRETS_VERSION) {
    const version = typeof body.v === 'number' ? String(body.v) : typeof body.v;
    return { ok: false, error: new FlagstreamSecretsError(200, `the gateway sent secrets in version ${version}; this SDK reads version ${SDK_SECRETS_VERSION}`), retryable: false };
  }
  if (!isObject(body.secrets)) return malformed('has no secrets object');
  const secrets = new Map<string, SecretDetail>();
  for (const path of Object.keys(body.secrets).sort()) {
    const s = body.secrets[path];
    if (!isObject(s) || !Number.isSafeInteger(s.version) || typeof s.value !== 'string' || typeof s.definedIn !== 'string') return malformed('has an entry that is not { version, value, definedIn }');
    const detail: SecretDetail = { value: s.value, version: s.version as number, definedIn: s.definedIn };
    const p = s.previous;
    if (isObject(p) && Number.isSafeInteger(p.version) && typeof p.value === 'string' && typeof p.until === 'string') detail.previous = { version: p.version as number, value: p.value, until: p.until };
    secrets.set(path, detail);
  }
  return { ok: true, secrets };
}

/** What an error answer means: whether to retry, and why (with the gateway's message). */
function refusal(status: number, text: string, retryAfter: string | null): Attempt {
  let code: unknown;
  let detail = `gateway answered ${status}`;
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    code = body.error?.code;
    if (typeof body.error?.message === 'string') detail = `${detail}: ${body.error.message}`;
  } catch {
    // not the gateway's error body (a proxy's page): the status says enough
  }
  const refused = (message: string): Attempt => ({ ok: false, error: new FlagstreamSecretsError(status, message), retryable: false });
  if (status === 401) return refused(`the gateway refused the SDK key when reading secrets (${detail})`);
  if (status === 403) return refused(`this SDK key cannot read secrets: only server keys can (${detail})`);
  // The gateway's own 503 says it is not configured for secrets; a proxy's 503 is a passing failure.
  if (status === 503 && code === 'UNAVAILABLE') return refused(`the gateway does not serve secrets (${detail})`);
  if (status === 404) return refused(`the gateway does not serve secrets; it may predate them (${detail})`);
  if (status === 429 || status === 408 || status >= 500) {
    const seconds = retryAfter === null || retryAfter.trim() === '' ? NaN : Number(retryAfter);
    const error = new FlagstreamSecretsError(status, status === 429 ? `the gateway rate-limited reading secrets (${detail})` : `reading secrets failed (${detail})`);
    return { ok: false, error, retryable: true, retryAfterMs: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined };
  }
  return refused(`the gateway refused to serve secrets (${detail})`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
