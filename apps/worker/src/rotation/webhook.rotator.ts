import type { RotationRequest } from '@flagstream/changes';
import { MAX_SECRET_BYTES } from '@flagstream/changes';
import { SIGNATURE_HEADER, signWebhook } from '../alerts/webhook-signature';

export interface WebhookRotatorOptions {
  /** A receiver that has not answered by then fails the attempt. Default 10,000 ms. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * The generic webhook rotator: POSTs `{type: "secret.rotate", project, environment, path,
 * currentVersion, requestedAt}` to the policy's URL, signed like alerts (`flagstream-signature:
 * t=…,v1=HMAC-SHA256(secret, "<t>.<body>")`) with the value of the policy's `signingSecretPath`
 * secret, and takes the new credential from a 200 answer `{"value": "…"}`. Anything else fails the
 * attempt (retried with backoff by the worker). Redirects are not followed. The value and the
 * signing secret never appear in an error message.
 */
export function webhookRotator(options: WebhookRotatorOptions = {}) {
  const fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  return async (req: RotationRequest): Promise<string> => {
    const url = String(req.config.url);
    const signingSecret = await req.readSecret(String(req.config.signingSecretPath));
    const body = JSON.stringify({ type: 'secret.rotate', project: req.project, environment: req.environment, path: req.path, currentVersion: req.currentVersion, requestedAt: new Date(now()).toISOString() });
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json', 'user-agent': 'flagstream-worker', [SIGNATURE_HEADER]: signWebhook(signingSecret, Math.floor(now() / 1000), body) },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const why = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError') ? `no answer within ${timeoutMs} ms` : 'the request failed';
      throw new Error(`webhook rotator at ${new URL(url).origin}: ${why}`);
    }
    if (res.status !== 200) throw new Error(`webhook rotator at ${new URL(url).origin} answered ${res.status}; expected 200 with {"value": "…"}`);
    let value: unknown;
    try {
      value = ((await res.json()) as { value?: unknown }).value;
    } catch {
      throw new Error(`webhook rotator at ${new URL(url).origin} answered 200 without a JSON body`);
    }
    if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) {
      throw new Error(`webhook rotator at ${new URL(url).origin} answered without a usable "value" (a non-empty string of at most ${MAX_SECRET_BYTES} bytes)`);
    }
    return value;
  };
}
