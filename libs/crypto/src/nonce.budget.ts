import { CryptoUsageError } from './crypto.errors';

/** Limits for {@link nonceBudget}. */
export interface NonceBudgetOptions {
  /** Most encryptions one key may ever perform with random 96-bit nonces. Default 2^32. */
  limit?: number;
  /** Use count from which rotation is due, leaving room to rotate calmly. Default 2^31. */
  rotateAt?: number;
}

/** Where one KEK version stands against its random-nonce budget. */
export interface NonceBudget {
  /** Wraps still allowed under this key (0 when exhausted). */
  remaining: number;
  /** The limit is reached: no further wrap may use this key. */
  mustRotate: boolean;
  /** Past the rotation threshold: make a new KEK version current soon. */
  shouldRotate: boolean;
}

/**
 * How much of a key's random-nonce budget is spent. Every wrap under a KEK version draws a fresh
 * random 96-bit nonce with that key; NIST SP 800-38D (section 8.3) caps the invocations of the
 * authenticated encryption function with one key and random IVs at 2^32, which keeps the chance of
 * a repeated nonce (fatal for GCM: it leaks the authentication key) below 2^-32. Data keys are
 * used once each, so the KEK is the only key whose uses need counting.
 *
 * @param uses wraps already performed under the key (count them with the cipher's `onWrap` hook)
 */
export function nonceBudget(uses: number, options: NonceBudgetOptions = {}): NonceBudget {
  const { limit = 2 ** 32, rotateAt = 2 ** 31 } = options;
  const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0;
  if (!isCount(uses)) throw new CryptoUsageError('nonceBudget: uses must be a non-negative safe integer');
  if (!isCount(limit) || !isCount(rotateAt) || rotateAt > limit) {
    throw new CryptoUsageError('nonceBudget: limit and rotateAt must be non-negative safe integers with rotateAt <= limit');
  }
  return { remaining: Math.max(0, limit - uses), mustRotate: uses >= limit, shouldRotate: uses >= rotateAt };
}
