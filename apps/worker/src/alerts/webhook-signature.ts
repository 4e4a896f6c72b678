import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the signature of a webhook delivery. */
export const SIGNATURE_HEADER = 'flagstream-signature';
/** How far a signature's timestamp may be from the receiver's clock by default (replay window). */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const UNIX_SECONDS = /^\d{1,12}$/;

function hmacHex(secret: string, timestampSeconds: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
}

/**
 * The `flagstream-signature` header of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * `"<t>.<body>"`. Signing the timestamp with the body lets a receiver refuse replays of an old
 * delivery; each attempt is signed anew, so a retry hours later still verifies.
 */
export function signWebhook(secret: string, timestampSeconds: number, body: string | Buffer): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) throw new RangeError(`timestampSeconds must be a non-negative integer (got ${timestampSeconds})`);
  return `t=${timestampSeconds},v1=${hmacHex(secret, timestampSeconds, body)}`;
}

/** Options of {@link verifyWebhookSignature}. */
export interface VerifyOptions {
  /** Largest accepted distance between `t` and `now`, either way (clock skew); default 300. */
  toleranceSeconds?: number;
  /** The receiver's clock in milliseconds since the epoch (`Date.now()`, the default). */
  now?: number;
}

/**
 * True when `header` signs `body` (the raw bytes received, before any JSON parsing) with `secret`
 * at a time within `toleranceSeconds` of `now`. Any `v1=` entry may match (several are allowed so a
 * secret can be rotated), and every comparison is constant-time. Written with Node built-ins only,
 * so receivers can copy it as it is.
 */
export function verifyWebhookSignature(secret: string, header: string | undefined, body: string | Buffer, options: VerifyOptions = {}): boolean {
  const tolerance = options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now();
  if (typeof header !== 'string') return false;
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return false;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !UNIX_SECONDS.test(value)) return false;
      timestamp = Number(value);
    } else if (key === 'v1' && HEX_SHA256.test(value)) {
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || !signatures.length) return false;
  if (Math.abs(now / 1000 - timestamp) > tolerance) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  let match = false;
  // No early exit: the time taken does not depend on which entry matched.
  for (const signature of signatures) match = timingSafeEqual(signature, expected) || match;
  return match;
}
