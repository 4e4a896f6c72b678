import { assignmentProblem, experimentProblems, experimentRollout, runsExperiment, serveAt, trackedWeights, withServeAt, type NewExperimentInput } from './experiments.rules';

const valid = (): NewExperimentInput => ({
  key: 'checkout-button',
  name: 'Checkout button colour',
  environment: 'production',
  flag: 'checkout-button',
  control: 'blue',
  variations: [
    { variation: 'blue', weight: 1 },
    { variation: 'green', weight: 1 },
  ],
  metrics: [{ key: 'purchase', role: 'primary', kind: 'conversion', event: 'checkout.completed' }],
});

const FLAG = { key: 'checkout-button', variations: new Set(['blue', 'green', 'red']), ruleIds: new Set(['beta-users']) };
const paths = (input: NewExperimentInput) => experimentProblems(input, FLAG).map((p) => p.path);

describe('experimentProblems', () => {
  it('accepts a minimal experiment and a full one', () => {
    expect(experimentProblems(valid(), FLAG)).toEqual([]);
    const full: NewExperimentInput = {
      ...valid(),
      hypothesis: 'Green converts better',
      variations: [
        { variation: 'blue', weight: 2 },
        { variation: 'green', weight: 1 },
        { variation: 'red', weight: 1 },
      ],
      coverage: 0.25,
      unitAttribute: 'account.id',
      rule: 'beta-users',
      eventSources: 'server',
      alpha: 0.01,
      metrics: [
        { key: 'purchase', role: 'primary', kind: 'conversion', event: 'checkout.completed', windowSeconds: 86_400 },
        { key: 'revenue', role: 'secondary', kind: 'sum', event: 'checkout.revenue' },
        { key: 'latency', role: 'guardrail', kind: 'mean', event: 'page.latency_ms', lowerIsBetter: true },
        { key: 'aov', role: 'secondary', kind: 'ratio', event: 'checkout.revenue', denominatorEvent: 'checkout.completed' },
      ],
    };
    expect(experimentProblems(full, FLAG)).toEqual([]);
  });

  it('collects every problem at once, each with its path in the body', () => {
    const input: NewExperimentInput = {
      ...valid(),
      key: 'Not A Slug',
      name: '',
      control: 'purple',
      coverage: 0,
      alpha: 0.5,
      unitAttribute: 'a..b',
      rule: 'no-such-rule',
      variations: [
        { variation: 'blue', weight: 1 },
        { variation: 'blue', weight: -1 },
        { variation: 'yellow', weight: 1 },
      ],
      metrics: [
        { key: 'purchase', role: 'primary', kind: 'conversion', event: 'checkout.completed' },
        { key: 'aov', role: 'primary', kind: 'ratio', event: 'checkout.revenue' },
        { key: 'purchase', role: 'secondary', kind: 'count', event: '9bad', denominatorEvent: 'x', windowSeconds: 90 * 86_400 + 1 },
      ],
    };
    expect(experimentProblems(input, FLAG)).toEqual([
      { path: 'key', message: 'must be a slug matching ^[a-z0-9][a-z0-9_.-]{0,63}$' },
      { path: 'name', message: 'must be 1 to 200 characters without control characters' },
      { path: 'variations[1].variation', message: 'variation "blue" appears twice' },
      { path: 'variations[1].weight', message: 'must be more than 0 and at most 100000 (weights are relative)' },
      { path: 'variations[2].variation', message: 'flag "checkout-button" has no variation "yellow"' },
      { path: 'control', message: `must be one of the experiment's variations (not "purple")` },
      { path: 'coverage', message: 'must be more than 0 and at most 1' },
      { path: 'unitAttribute', message: 'must not contain empty segments' },
      { path: 'rule', message: 'flag "checkout-button" has no rule "no-such-rule" in this environment' },
      { path: 'alpha', message: 'must be more than 0 and less than 0.5' },
      { path: 'metrics[1].denominatorEvent', message: 'required for a ratio metric' },
      { path: 'metrics[2].key', message: 'metric key "purchase" appears twice' },
      { path: 'metrics[2].event', message: 'must be a metric name matching ^[A-Za-z][A-Za-z0-9_.:-]{0,127}$' },
      { path: 'metrics[2].denominatorEvent', message: 'only a ratio metric has a denominator event' },
      { path: 'metrics[2].windowSeconds', message: 'must be a whole number of seconds from 1 to 7776000 (90 days)' },
      { path: 'metrics', message: 'exactly one metric has the role "primary" (found 2)' },
    ]);
  });

  it('checks counts: 2+ variations, 1 to 20 metrics, a primary metric', () => {
    expect(paths({ ...valid(), variations: [{ variation: 'blue', weight: 1 }] })).toEqual(['variations']);
    expect(paths({ ...valid(), metrics: [] })).toEqual(['metrics']);
    const many = Array.from({ length: 21 }, (_, i) => ({ key: `m${i}`, role: i === 0 ? 'primary' : 'secondary', kind: 'count', event: 'e' }) as const);
    expect(paths({ ...valid(), metrics: [...many] })).toEqual(['metrics']);
    expect(experimentProblems({ ...valid(), metrics: [{ key: 'm', role: 'guardrail', kind: 'count', event: 'e' }] })).toEqual([
      { path: 'metrics', message: 'exactly one metric has the role "primary" (found 0)' },
    ]);
  });

  it('limits coverage and alpha to the decimals the bucket scale and the store keep', () => {
    expect(paths({ ...valid(), coverage: 0.123456 })).toEqual(['coverage']);
    expect(paths({ ...valid(), coverage: 0.12345 })).toEqual([]);
    expect(paths({ ...valid(), coverage: 1.01 })).toEqual(['coverage']);
    expect(paths({ ...valid(), alpha: 0.000001 })).toEqual(['alpha']);
    expect(paths({ ...valid(), alpha: 0 })).toEqual(['alpha']);
  });

  it('refuses a split that leaves a variation without a bucket', () => {
    const input: NewExperimentInput = { ...valid(), coverage: 0.00001, variations: [{ variation: 'blue', weight: 1 }, { variation: 'green', weight: 1 }] };
    expect(experimentProblems(input, FLAG)).toEqual([
      { path: 'variations[1].weight', message: 'with coverage 0.00001 and these weights, variation "green" gets no bucket (1/100,000): raise its weight or the coverage' },
    ]);
  });

  it('checks variations and rules against the flag only when given it', () => {
    const input = { ...valid(), rule: 'other', control: 'x', variations: [{ variation: 'x', weight: 1 }, { variation: 'y', weight: 1 }] };
    expect(experimentProblems(input)).toEqual([]);
    expect(paths(input)).toEqual(['variations[0].variation', 'variations[1].variation', 'rule']);
  });
});

describe('trackedWeights', () => {
  it('splits coverage 0.3 over 1:1:1 into 10,000 each', () => {
    expect(trackedWeights(0.3, [1, 1, 1])).toEqual([10_000, 10_000, 10_000]);
  });

  it('gives the leftover buckets to the largest remainders so the sum is exact', () => {
    // 100,000 / 3 = 33,333.33…: one bucket left over, to the first of the equal remainders.
    expect(trackedWeights(1, [1, 1, 1])).toEqual([33_334, 33_333, 33_333]);
    // 0.5 × 100,000 × (1/6, 2/6, 3/6) = 8,333.3, 16,666.7, 25,000: the 0.67 remainder wins.
    expect(trackedWeights(0.5, [1, 2, 3])).toEqual([8_333, 16_667, 25_000]);
    // 0.1 × 100,000 / 7 = 1,428.57 each: 4 of 7 get one more (sum 10,000).
    const seven = trackedWeights(0.1, [1, 1, 1, 1, 1, 1, 1]);
    expect(seven).toEqual([1_429, 1_429, 1_429, 1_429, 1_428, 1_428, 1_428]);
    expect(seven.reduce((s, w) => s + w, 0)).toBe(10_000);
  });

  it('rounds coverage to whole buckets before splitting (0.3 × 100,000 is 30,000.000000000004 in floating point)', () => {
    expect(trackedWeights(0.3, [7, 3])).toEqual([21_000, 9_000]);
    expect(trackedWeights(0.33333, [1, 1])).toEqual([16_667, 16_666]);
  });
});

describe('experimentRollout', () => {
  const experiment = {
    key: 'checkout-button',
    unitAttribute: 'targetingKey',
    controlVariation: 'blue',
    variations: [
      { variation: 'blue', weight: 1 },
      { variation: 'green', weight: 1 },
      { variation: 'red', weight: 1 },
    ],
    coverage: 0.3,
  };

  it('puts the rest of the buckets on an untracked control slice when coverage < 1 (total 100,000)', () => {
    const rollout = experimentRollout(experiment);
    expect(rollout).toEqual({
      experiment: 'checkout-button',
      seed: 'experiment:checkout-button',
      variations: [
        { variation: 'blue', weight: 10_000 },
        { variation: 'green', weight: 10_000 },
        { variation: 'red', weight: 10_000 },
        { variation: 'blue', weight: 70_000, untracked: true },
      ],
    });
    expect('bucketBy' in rollout).toBe(false);
  });

  it('has no untracked slice at full coverage, and buckets by the unit attribute when it is not targetingKey', () => {
    expect(experimentRollout({ ...experiment, coverage: 1, unitAttribute: 'account.id' })).toEqual({
      experiment: 'checkout-button',
      bucketBy: 'account.id',
      seed: 'experiment:checkout-button',
      variations: [
        { variation: 'blue', weight: 33_334 },
        { variation: 'green', weight: 33_333 },
        { variation: 'red', weight: 33_333 },
      ],
    });
  });

  it('sums to exactly 100,000 for awkward coverages and weights', () => {
    for (const coverage of [0.00003, 0.12345, 0.5, 0.99999, 1]) {
      for (const weights of [[1, 1], [1, 2, 3], [0.1, 0.7, 0.2], [99_999, 1, 5]]) {
        const rollout = experimentRollout({ ...experiment, coverage, variations: weights.map((weight, i) => ({ variation: `v${i}`, weight })) });
        expect(rollout.variations.reduce((s, v) => s + v.weight, 0)).toBe(100_000);
        const tracked = rollout.variations.filter((v) => !v.untracked).reduce((s, v) => s + v.weight, 0);
        expect(tracked).toBe(Math.round(coverage * 100_000));
      }
    }
  });
});

describe('serve placement', () => {
  const settings = {
    on: true,
    offVariation: 'blue',
    prerequisites: [],
    rules: [
      { id: 'beta-users', clauses: [], serve: { variation: 'green' } },
      { id: 'staff', clauses: [], serve: { variation: 'red' } },
    ],
    defaultServe: { variation: 'blue' },
    salt: 'checkout-button',
  };
  const rollout = { rollout: { experiment: 'x1', variations: [{ variation: 'blue', weight: 100_000 }] } };

  it('replaces only the serve the experiment takes over', () => {
    expect(withServeAt(settings, null, rollout)).toEqual({ ...settings, defaultServe: rollout });
    const inRule = withServeAt(settings, 'beta-users', rollout);
    expect(inRule.rules).toEqual([{ id: 'beta-users', clauses: [], serve: rollout }, settings.rules[1]]);
    expect(inRule.defaultServe).toEqual({ variation: 'blue' });
    expect(settings.rules[0]!.serve).toEqual({ variation: 'green' });
  });

  it('finds the serve and tells whether it still runs the experiment', () => {
    expect(serveAt(settings, 'staff')).toEqual({ variation: 'red' });
    expect(serveAt(settings, 'gone')).toBeUndefined();
    expect(runsExperiment(serveAt(withServeAt(settings, 'staff', rollout), 'staff'), 'x1')).toBe(true);
    expect(runsExperiment(serveAt(settings, null), 'x1')).toBe(false);
    expect(runsExperiment(rollout, 'x2')).toBe(false);
  });
});

describe('assignmentProblem', () => {
  const x = {
    key: 'x1',
    unitAttribute: 'targetingKey',
    controlVariation: 'blue',
    variations: [
      { variation: 'blue', weight: 1 },
      { variation: 'green', weight: 1 },
    ],
    coverage: 0.5,
    ruleId: null,
  };
  const settings = {
    on: true,
    offVariation: 'blue',
    prerequisites: [],
    rules: [{ id: 'beta-users', clauses: [], serve: { variation: 'green' } }],
    defaultServe: { rollout: experimentRollout(x) },
    salt: 'checkout-button',
  };

  it('is null while the flag serves the experiment as it was started', () => {
    expect(assignmentProblem(x, settings, 'production')).toBeNull();
  });

  it('says when the serve was replaced, re-weighted, or the flag turned off', () => {
    expect(assignmentProblem(x, { ...settings, defaultServe: { variation: 'green' } }, 'production')).toBe(
      'the flag\'s default serve in "production" no longer runs this experiment (it was replaced): no unit is assigned; stop the experiment',
    );
    const reweighted = { ...experimentRollout(x), variations: [{ variation: 'blue', weight: 10_000 }, { variation: 'green', weight: 40_000 }, { variation: 'blue', weight: 50_000, untracked: true }] };
    expect(assignmentProblem(x, { ...settings, defaultServe: { rollout: reweighted } }, 'production')).toBe(
      'the flag\'s default serve in "production" runs this experiment with other slices than it defines (edited since the start): the results mix allocations',
    );
    expect(assignmentProblem(x, { ...settings, on: false }, 'production')).toBe('the flag is off in "production": it serves its off variation and records no exposure');
    expect(assignmentProblem({ ...x, ruleId: 'beta-users' }, settings, 'staging')).toBe(
      'the flag\'s serve of rule "beta-users" in "staging" no longer runs this experiment (it was replaced): no unit is assigned; stop the experiment',
    );
  });
});
