import { BUCKET_SCALE, bucketOf, hashToBucket } from './bucket.hash';
import { murmur3 } from './murmur3.hash';

// Golden vectors: a change to hashing, encoding or the bucket mapping must fail here.
// Also published in docs/evaluation.md for implementations in other languages.
const GOLDEN: Array<[salt: string, key: string, hash: number, bucket: number]> = [
  ['', '', 723937430, 16855],
  ['salt', 'user-1', 284266604, 6618],
  ['salt', 'user-2', 4225422170, 98380],
  ['new-checkout', 'user-42', 1499260774, 34907],
  ['new-checkout', 'alice@example.com', 3183876218, 74130],
  ['dark-mode', '0', 690894521, 16086],
  ['dark-mode', '1234567890', 1516462007, 35307],
  ['exp-2024', 'tenant:acme', 1620246116, 37724],
  ['fläg', 'ユーザー', 2963557822, 69000],
  ['emoji', '😀', 3323180545, 77373],
  ['a-very-long-salt-value-for-testing-purposes', 'b1f0c2de-8d0f-4a3c-9c57-0f1e2d3c4b5a', 1069488618, 24900],
  ['s', '', 1046795059, 24372],
];

describe('bucketing', () => {
  it.each(GOLDEN)('salt %j and key %j hash to %d, bucket %d', (salt, key, hash, bucket) => {
    expect(murmur3(`${salt}:${key}`)).toBe(hash);
    expect(bucketOf(salt, key)).toBe(bucket);
  });

  it('maps hashes to [0, 100000) by multiply-shift', () => {
    expect(hashToBucket(0)).toBe(0);
    expect(hashToBucket(0xffffffff)).toBe(99_999);
    expect(hashToBucket(2 ** 31)).toBe(50_000);
    expect(hashToBucket(42_949)).toBe(0);
    expect(hashToBucket(42_950)).toBe(1);
    expect(BUCKET_SCALE).toBe(100_000);
  });
});
