import { FLAG_LIMITS } from '@flagstream/protocol';
import { murmur3Prefix, murmur3Resume, type Murmur3State } from './murmur3.hash';

/** Buckets are integers in [0, BUCKET_SCALE): one bucket is 1/100,000 of the population. */
export const BUCKET_SCALE = FLAG_LIMITS.bucketScale;

const TWO_POW_32 = 4294967296;

/**
 * Maps a 32-bit hash to [0, 100000) by multiply-shift: floor(hash * 100000 / 2^32).
 * Exact in doubles (hash * 100000 < 2^53), unlike modulo it has no bias towards low buckets.
 */
export function hashToBucket(hash: number): number {
  return Math.floor((hash * BUCKET_SCALE) / TWO_POW_32);
}

/** The murmur3 state after `salt + ":"`, computed once per rollout. */
export function bucketPrefix(salt: string): Murmur3State {
  return murmur3Prefix(`${salt}:`, 0);
}

/** The bucket of `bucketValue` under `salt`: hashToBucket(murmur3(utf8(salt + ":" + bucketValue), 0)). */
export function bucketOf(salt: string, bucketValue: string): number {
  return hashToBucket(murmur3Resume(bucketPrefix(salt), bucketValue));
}

/** {@link bucketOf} with the salt prefix already hashed. */
export function bucketFromPrefix(prefix: Murmur3State, bucketValue: string): number {
  return hashToBucket(murmur3Resume(prefix, bucketValue));
}
