import * as fc from 'fast-check';
import type { EnvironmentSnapshotV1, FlagSnapshotV1, WeightedVariationV1 } from '@flagstream/protocol';
import { BUCKET_SCALE, bucketOf } from './bucket.hash';
import { compile } from './environment.evaluator';

/** 100,000 distinct, random-looking keys (deterministic, so failures reproduce). */
const KEYS = Array.from({ length: 100_000 }, (_, i) => `user-${(i * 2654435761) >>> 0}-${i}`);

function rolloutFlag(key: string, variations: WeightedVariationV1[], kind: FlagSnapshotV1['kind'] = 'string'): EnvironmentSnapshotV1 {
  return {
    environment: 'e',
    revision: 1,
    segments: [],
    flags: [
      {
        key,
        kind,
        clientVisible: false,
        version: 1,
        variations: variations.map((v) => ({ key: v.variation, value: kind === 'boolean' ? v.variation === 'on' : v.variation })),
        settings: { on: true, offVariation: variations[0]!.variation, prerequisites: [], rules: [], defaultServe: { rollout: { variations } }, salt: key },
      },
    ],
  };
}

/** Pearson's chi-square statistic of observed counts against a uniform expectation. */
function chiSquare(counts: number[], expected: number): number {
  return counts.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
}

describe('rollout statistics', () => {
  it('spreads 100,000 keys uniformly over 100 buckets (chi-square, 99 d.f., p > 0.001)', () => {
    const counts = new Array<number>(100).fill(0);
    for (const key of KEYS) counts[Math.floor(bucketOf('uniformity', key) / 1000)]!++;
    // Critical value of chi-square with 99 degrees of freedom at p = 0.001 is 148.23.
    expect(chiSquare(counts, 1000)).toBeLessThan(148.23);
  });

  it('serves a 50% rollout to 50% of 100,000 keys within 4 standard deviations', () => {
    const evaluator = compile(
      rolloutFlag(
        'half',
        [
          { variation: 'on', weight: 50_000 },
          { variation: 'off', weight: 50_000 },
        ],
        'boolean',
      ),
    );
    const on = KEYS.filter((targetingKey) => evaluator.evaluate('half', { targetingKey }).value === true).length;
    // sd = sqrt(n p (1 - p)) = 158.1
    expect(Math.abs(on - 50_000)).toBeLessThan(4 * 158.1);
  });

  it('splits variants by their weights (chi-square, 3 d.f., p > 0.001)', () => {
    const weights = [10_000, 20_000, 30_000, 40_000];
    const evaluator = compile(rolloutFlag('abcd', weights.map((weight, i) => ({ variation: `v${i}`, weight }))));
    const counts = [0, 0, 0, 0];
    for (const targetingKey of KEYS) counts[Number(evaluator.evaluate('abcd', { targetingKey }).variation!.slice(1))]!++;
    const statistic = counts.reduce((sum, observed, i) => sum + (observed - weights[i]!) ** 2 / weights[i]!, 0);
    expect(statistic).toBeLessThan(16.27);
  });

  it('is granular to one bucket: a weight of 1 serves exactly the keys in bucket 0', () => {
    const evaluator = compile(
      rolloutFlag('tiny', [
        { variation: 'rare', weight: 1 },
        { variation: 'common', weight: 99_999 },
      ]),
    );
    const inBucketZero = KEYS.filter((key) => bucketOf('tiny', key) === 0);
    const rare = KEYS.filter((targetingKey) => evaluator.evaluate('tiny', { targetingKey }).variation === 'rare');
    expect(rare).toEqual(inBucketZero);
    // About 1 in 100,000 keys, i.e. a handful at most among 100,000.
    expect(rare.length).toBeLessThan(6);
    // Every boundary is exact: weights w serve exactly the keys whose bucket is below w.
    for (const weight of [1, 2, 12_345, 99_999]) {
      const split = compile(rolloutFlag('tiny', [{ variation: 'a', weight }, { variation: 'b', weight: BUCKET_SCALE - weight }]));
      const keys = KEYS.slice(0, 2_000);
      const served = keys.map((targetingKey) => split.evaluate('tiny', { targetingKey }).variation);
      expect(served).toEqual(keys.map((key) => (bucketOf('tiny', key) < weight ? 'a' : 'b')));
    }
  });

  it('never removes a user when a percentage is raised (sticky and monotonic)', () => {
    const keys = KEYS.slice(0, 2_000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: BUCKET_SCALE }), fc.integer({ min: 0, max: BUCKET_SCALE }), fc.boolean(), (x, y, onFirst) => {
        const [low, high] = x <= y ? [x, y] : [y, x];
        const at = (weight: number) => {
          const on = { variation: 'on', weight };
          const off = { variation: 'off', weight: BUCKET_SCALE - weight };
          return compile(rolloutFlag('sticky', onFirst ? [on, off] : [off, on], 'boolean'));
        };
        const before = at(low);
        const after = at(high);
        const lost = keys.filter(
          (targetingKey) => before.evaluate('sticky', { targetingKey }).value === true && after.evaluate('sticky', { targetingKey }).value !== true,
        );
        expect(lost).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });
});
