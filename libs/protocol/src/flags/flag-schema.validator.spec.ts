import { appendPath, checkFlagSchemaV1 } from './flag-schema.validator';
import { defaultFlagEnvironmentSettings, defaultVariations } from './flag.defaults';
import type { EnvironmentSnapshotV1 } from './snapshot.model';

describe('checkFlagSchemaV1', () => {
  const definition = { key: 'dark-mode', kind: 'boolean', variations: defaultVariations('boolean') } as const;
  const settings = defaultFlagEnvironmentSettings({ ...definition, variations: defaultVariations('boolean') }, 'salt');

  it('accepts valid documents of each entry point', () => {
    const snapshot: EnvironmentSnapshotV1 = {
      environment: 'prod',
      revision: 3,
      flags: [{ ...definition, variations: defaultVariations('boolean'), clientVisible: true, version: 2, settings }],
      segments: [{ key: 'beta', included: ['a'], excluded: [], rules: [] }],
    };
    expect(checkFlagSchemaV1('environmentSnapshot', snapshot)).toEqual([]);
    expect(checkFlagSchemaV1('flag', { ...definition, environments: { prod: settings } })).toEqual([]);
    expect(checkFlagSchemaV1('evaluationResult', { key: 'f', value: true, variation: 'on', reason: 'STATIC' })).toEqual([]);
  });

  it('accepts experiment rollouts with untracked slices, and experiment markers on results', () => {
    const rollout = {
      experiment: 'checkout-2026',
      bucketBy: 'tenant.id',
      variations: [
        { variation: 'on', weight: 10_000 },
        { variation: 'off', weight: 10_000 },
        { variation: 'off', weight: 80_000, untracked: true },
      ],
    };
    expect(checkFlagSchemaV1('rollout', rollout)).toEqual([]);
    expect(checkFlagSchemaV1('flagEnvironmentSettings', { ...settings, defaultServe: { rollout } })).toEqual([]);
    const result = { key: 'f', value: true, variation: 'on', reason: 'SPLIT', experiment: 'checkout-2026', experimentUnit: 'tenant.id' };
    expect(checkFlagSchemaV1('evaluationResult', result)).toEqual([]);
    expect(checkFlagSchemaV1('rollout', { ...rollout, experiment: 'Checkout 2026', variations: [{ variation: 'on', weight: 100_000, untracked: 'yes' }] })).toEqual([
      { path: 'variations[0].untracked', message: 'must be boolean' },
      { path: 'experiment', message: 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$' },
    ]);
    expect(checkFlagSchemaV1('evaluationResult', { ...result, experiment: 'X', experimentUnit: '' })).toEqual([
      { path: 'experiment', message: 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$' },
      { path: 'experimentUnit', message: 'must NOT have fewer than 1 characters' },
    ]);
  });

  it('reports every structural problem with a JavaScript path', () => {
    expect(
      checkFlagSchemaV1('flagEnvironmentSettings', {
        ...settings,
        on: 'yes',
        rules: [{ id: 'bad id!', clauses: [{ attribute: 'a', operator: 'in', values: [{}], negate: 1 }], serve: { variation: 'on', rollout: { variations: [] } } }],
        defaultServe: { rollout: { variations: [{ variation: 'on', weight: 0.5 }] } },
      }),
    ).toEqual([
      { path: 'on', message: 'must be boolean' },
      { path: 'rules[0].id', message: 'must match ^[A-Za-z0-9_.-]{1,64}$' },
      { path: 'rules[0].clauses[0].values[0]', message: 'must be a string (at most 1024 characters), a number or a boolean' },
      { path: 'rules[0].clauses[0].negate', message: 'must be boolean' },
      { path: 'rules[0].serve', message: 'must have exactly one of "variation" or "rollout"' },
      { path: 'rules[0].serve.rollout.variations', message: 'must NOT have fewer than 1 items' },
      { path: 'defaultServe.rollout.variations[0].weight', message: 'must be integer' },
    ]);
  });

  it('quotes property names that are not identifiers', () => {
    expect(checkFlagSchemaV1('flag', { ...definition, environments: { 'Prod EU': settings } })).toEqual([
      { path: 'environments["Prod EU"]', message: 'is not a valid key: must match ^[a-z0-9][a-z0-9_.-]{0,63}$' },
    ]);
    expect(appendPath('', 'a')).toBe('a');
    expect(appendPath('a', 0)).toBe('a[0]');
    expect(appendPath('a', 'b-c')).toBe('a["b-c"]');
  });
});
