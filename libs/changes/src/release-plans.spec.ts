import { milestoneProblems, serveFor } from './release-plans';
import { releasePlanJobId } from './release-plans.queue';

const VARIATIONS = new Set(['on', 'off']);
const plan = { controlVariation: 'off', treatmentVariation: 'on' };

describe('release plan milestones', () => {
  it('accepts strictly increasing percentages and weights summing to 100,000, each with one gate', () => {
    expect(
      milestoneProblems(
        [
          { percentage: 0.5, bakeSeconds: 60 },
          { percentage: 1.1, bakeSeconds: 60 },
          { weights: [{ variation: 'on', weight: 30_000 }, { variation: 'off', weight: 70_000 }], manual: true },
          { percentage: 50, manual: true },
          { percentage: 100, bakeSeconds: 1 },
        ],
        VARIATIONS,
      ),
    ).toEqual([]);
  });

  it('names each problem by path', () => {
    expect(milestoneProblems([], VARIATIONS)).toEqual([{ path: 'milestones', message: 'must hold 1 to 20 milestones' }]);
    expect(milestoneProblems([{ percentage: 10, bakeSeconds: 1 }, { percentage: 10, bakeSeconds: 1 }], VARIATIONS)).toEqual([
      { path: 'milestones.1.percentage', message: "must be more than the previous milestone's 10" },
    ]);
    expect(milestoneProblems([{ percentage: 0.0001, bakeSeconds: 1 }], VARIATIONS).map((p) => p.path)).toEqual(['milestones.0.percentage']);
    expect(milestoneProblems([{ percentage: 5, bakeSeconds: 0 }], VARIATIONS).map((p) => p.path)).toEqual(['milestones.0.bakeSeconds']);
    expect(milestoneProblems([{ weights: [{ variation: 'x', weight: 100_000 }], manual: true }], VARIATIONS).map((p) => p.path)).toEqual(['milestones.0.weights.0.variation']);
  });
});

describe('serveFor', () => {
  it('puts the treatment slice first so it only grows, keeping the bucketing attribute and seed', () => {
    const previous = { rollout: { variations: [{ variation: 'on', weight: 100_000 }], bucketBy: 'accountId', seed: 'exp-1' } };
    expect(serveFor({ percentage: 5, weights: null }, plan, previous)).toEqual({
      rollout: { variations: [{ variation: 'on', weight: 5_000 }, { variation: 'off', weight: 95_000 }], bucketBy: 'accountId', seed: 'exp-1' },
    });
    expect(serveFor({ percentage: 0.125, weights: null }, plan, { variation: 'on' })).toEqual({
      rollout: { variations: [{ variation: 'on', weight: 125 }, { variation: 'off', weight: 99_875 }] },
    });
  });

  it('serves explicit weights as given', () => {
    const weights = [{ variation: 'off', weight: 60_000 }, { variation: 'on', weight: 40_000 }];
    expect(serveFor({ percentage: null, weights }, plan, { variation: 'off' })).toEqual({ rollout: { variations: weights } });
  });

  it('gives job ids without ":" that change with the plan version', () => {
    expect(releasePlanJobId('p1', 2, 5)).toBe('plan-p1-m2-v5');
  });
});
