import { EnvValidationError, type EnvSpec } from '@flagstream/server';

/**
 * The worker's alert webhook variables, to spread into `WORKER_ENV`. The URL and secret have no
 * default (both unset: alerts are only logged); `alertSettingsFrom` checks them together. The
 * secret's length is checked there, not here: `loadEnv` quotes the bad value in its message.
 */
export const ALERT_ENV = {
  ALERT_WEBHOOK_URL: { type: 'string', format: 'uri', pattern: '^https?://', sensitive: true, description: 'http(s) URL that receives alerts (automatic rollbacks) as signed JSON POSTs; unset: alerts are only logged' },
  ALERT_WEBHOOK_SECRET: { type: 'string', sensitive: true, description: 'HMAC-SHA256 key that signs each alert delivery (32+ characters); required with ALERT_WEBHOOK_URL' },
  ALERT_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 20, default: 10, description: 'delivery attempts of an alert while the receiver fails (5xx, 408, 429, timeouts)' },
  ALERT_BACKOFF_MS: { type: 'integer', minimum: 10, maximum: 600000, default: 2000, description: 'first retry delay of an alert delivery; each next one doubles' },
  ALERT_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 60000, default: 5000, description: 'time an alert receiver has to answer one delivery' },
} as const satisfies EnvSpec;

/** Shortest accepted webhook secret (256 bits of printable characters, give or take). */
export const MIN_ALERT_SECRET_LENGTH = 32;

/** Where and how alerts are delivered. */
export interface AlertWebhook {
  url: string;
  secret: string;
  timeoutMs: number;
}

/** How a failing delivery is retried: `attempts` in all, the first retry after `backoffMs`, then doubling. */
export interface AlertJobPolicy {
  attempts: number;
  backoffMs: number;
}

/** The alert settings of the worker: `webhook` null when no URL is configured. */
export interface AlertSettings {
  webhook: AlertWebhook | null;
  policy: AlertJobPolicy;
}

/** The variables `alertSettingsFrom` reads (what `loadEnv(ALERT_ENV)` returns). */
export interface AlertEnv {
  ALERT_WEBHOOK_URL?: string;
  ALERT_WEBHOOK_SECRET?: string;
  ALERT_ATTEMPTS: number;
  ALERT_BACKOFF_MS: number;
  ALERT_TIMEOUT_MS: number;
}

/**
 * The alert settings, refusing at startup what would fail every delivery later: a URL without a
 * secret, a short secret, a URL fetch cannot post to. Problems name the variable; the secret's value
 * is never part of a message.
 */
export function alertSettingsFrom(env: AlertEnv): AlertSettings {
  const policy = { attempts: env.ALERT_ATTEMPTS, backoffMs: env.ALERT_BACKOFF_MS };
  const url = env.ALERT_WEBHOOK_URL || undefined;
  const secret = env.ALERT_WEBHOOK_SECRET || undefined;
  if (!url) return { webhook: null, policy };
  const problems: string[] = [];
  const urlProblem = webhookUrlProblem(url);
  if (urlProblem) problems.push(`ALERT_WEBHOOK_URL: ${urlProblem}`);
  if (!secret) {
    problems.push(`ALERT_WEBHOOK_SECRET: is required when ALERT_WEBHOOK_URL is set (HMAC-SHA256 key that signs each delivery, ${MIN_ALERT_SECRET_LENGTH}+ characters)`);
  } else if (secret.length < MIN_ALERT_SECRET_LENGTH) {
    problems.push(`ALERT_WEBHOOK_SECRET: must be at least ${MIN_ALERT_SECRET_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`);
  }
  if (problems.length || !secret) throw new EnvValidationError(problems);
  return { webhook: { url, secret, timeoutMs: env.ALERT_TIMEOUT_MS }, policy };
}

function webhookUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `must be an http(s) URL (got the scheme ${JSON.stringify(parsed.protocol)})`;
  if (parsed.username || parsed.password) return 'must not contain a user name or password (fetch refuses them; the receiver authenticates deliveries by their signature)';
  return null;
}

/** The URL as logs show it: scheme, host and port only (paths and query strings often carry tokens). */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '[invalid URL]';
  }
}
