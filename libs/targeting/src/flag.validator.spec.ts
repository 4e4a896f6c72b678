import type { FlagDefinitionV1, FlagEnvironmentSettingsV1, SegmentDefinitionV1 } from '@flagstream/protocol';
import { validateFlag, validateFlagDefinition, validateFlagEnvironment, type KnownEnvironmentEntities } from './flag.validator';

const checkout: FlagDefinitionV1 = {
  key: 'new-checkout',
  kind: 'string',
  variations: [
    { key: 'control', value: 'old' },
    { key: 'treatment', value: 'new' },
  ],
};

function settings(overrides: Partial<FlagEnvironmentSettingsV1> = {}): FlagEnvironmentSettingsV1 {
  return { on: true, offVariation: 'control', prerequisites: [], rules: [], defaultServe: { variation: 'control' }, salt: 'abc', ...overrides };
}

const boolDef = (key: string): FlagDefinitionV1 => ({
  key,
  kind: 'boolean',
  variations: [
    { key: 'on', value: true },
    { key: 'off', value: false },
  ],
});

const beta: SegmentDefinitionV1 = { key: 'beta', included: [], excluded: [], rules: [] };

function known(flags: Array<[FlagDefinitionV1, FlagEnvironmentSettingsV1]> = []): KnownEnvironmentEntities {
  return {
    segments: new Map([['beta', beta]]),
    flags: new Map(flags.map(([definition, s]) => [definition.key, { definition, settings: s }])),
  };
}

describe('validateFlagDefinition', () => {
  it('accepts a valid definition', () => {
    expect(validateFlagDefinition(checkout)).toEqual([]);
    expect(validateFlagDefinition({ ...boolDef('dark-mode'), name: 'Dark mode', clientVisible: true })).toEqual([]);
  });

  it('reports every problem with its path', () => {
    expect(
      validateFlagDefinition({
        key: 'Bad Key',
        kind: 'number',
        variations: [{ key: 'a', value: 1 }, { key: 'a', value: 'two' }, { key: 'c', value: Infinity }, { value: 3 }],
        extra: true,
      }),
    ).toEqual([
      { path: 'extra', message: 'is not a known property' },
      { path: 'key', message: 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$' },
      { path: 'variations[3].key', message: 'is required' },
      { path: 'variations[1].key', message: 'duplicate variation key "a"' },
      { path: 'variations[1].value', message: 'must be a finite number for a number flag' },
      { path: 'variations[2].value', message: 'must be a finite number for a number flag' },
    ]);
  });

  it('requires boolean flags to have exactly one true and one false variation', () => {
    expect(validateFlagDefinition({ key: 'b', kind: 'boolean', variations: [{ key: 'on', value: true }] })).toEqual([
      { path: 'variations', message: 'a boolean flag has exactly two variations, one true and one false' },
    ]);
    expect(validateFlagDefinition({ key: 'b', kind: 'boolean', variations: [{ key: 'x', value: true }, { key: 'y', value: true }] })).toEqual([
      { path: 'variations', message: 'a boolean flag has exactly two variations, one true and one false' },
    ]);
  });

  it('rejects non-objects and unknown kinds', () => {
    expect(validateFlagDefinition(null)).toEqual([{ path: '', message: 'must be object' }]);
    expect(validateFlagDefinition({ key: 'k', kind: 'date', variations: [{ key: 'a', value: 1 }] })).toEqual([
      { path: 'kind', message: 'must be one of "boolean", "string", "number", "json"' },
    ]);
  });
});

describe('validateFlagEnvironment', () => {
  it('accepts valid settings with rules, segments, rollouts and prerequisites', () => {
    const parent = boolDef('parent');
    const s = settings({
      prerequisites: [{ flag: 'parent', variations: ['on'] }],
      rules: [
        { id: 'r1', clauses: [{ operator: 'inSegment', values: ['beta'] }], serve: { variation: 'treatment' } },
        { id: 'r2', clauses: [{ attribute: 'appVersion', operator: 'semverGte', values: ['2.3.0'] }], serve: { variation: 'treatment' } },
      ],
      defaultServe: { rollout: { variations: [{ variation: 'control', weight: 90_000 }, { variation: 'treatment', weight: 10_000 }] } },
    });
    expect(validateFlagEnvironment(checkout, s, known([[parent, settings({ offVariation: 'off', defaultServe: { variation: 'on' } })]]))).toEqual([]);
  });

  it('reports unknown variations, weights, operand types, unsafe patterns and unknown segments', () => {
    const s = {
      ...settings({ offVariation: 'nope' }),
      rules: [
        {
          id: 'r1',
          clauses: [
            { attribute: 'age', operator: 'gt', values: ['18'] },
            { attribute: 'email', operator: 'matches', values: ['(a+)+$'] },
            { operator: 'inSegment', values: ['ghosts'] },
            { attribute: 'v', operator: 'semverLt', values: ['1.2'] },
            { attribute: 'd', operator: 'before', values: ['tomorrow'] },
            { attribute: 'x', operator: 'exists', values: ['y'] },
            { attribute: 'x', operator: 'lt', values: [1], caseInsensitive: true },
            { operator: 'equals', values: [1, 2] },
          ],
          serve: { variation: 'treatment' },
        },
        { id: 'r1', clauses: [], serve: { rollout: { bucketBy: 'a..b', variations: [{ variation: 'control', weight: 50_000 }, { variation: 'ghost', weight: 40_000 }] } } },
      ],
    };
    expect(validateFlagEnvironment(checkout, s, known())).toEqual([
      { path: 'offVariation', message: 'unknown variation "nope"' },
      { path: 'rules[0].clauses[0].values[0]', message: 'must be a finite number for gt' },
      {
        path: 'rules[0].clauses[1].values[0]',
        message: 'unsafe regular expression: nested quantifiers can backtrack catastrophically',
      },
      { path: 'rules[0].clauses[2].values[0]', message: 'unknown segment "ghosts"' },
      { path: 'rules[0].clauses[3].values[0]', message: 'must be a valid semantic version for semverLt' },
      {
        path: 'rules[0].clauses[4].values[0]',
        message:
          'must be a date for before: epoch milliseconds or ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss with Z or an offset)',
      },
      { path: 'rules[0].clauses[5].values', message: 'exists takes no values' },
      { path: 'rules[0].clauses[6].caseInsensitive', message: 'is not supported by lt' },
      { path: 'rules[0].clauses[7].attribute', message: 'is required for equals' },
      { path: 'rules[0].clauses[7].values', message: 'equals takes exactly one value' },
      { path: 'rules[1].id', message: 'duplicate rule id "r1"' },
      { path: 'rules[1].serve.rollout.bucketBy', message: 'must not contain empty segments' },
      { path: 'rules[1].serve.rollout.variations[1].variation', message: 'unknown variation "ghost"' },
      { path: 'rules[1].serve.rollout.variations', message: 'weights must sum to 100000 (units of 1/100,000), not 90000' },
    ]);
  });

  it('accepts experiment rollouts whose control is both tracked and untracked', () => {
    const rollout = {
      experiment: 'checkout-2026',
      variations: [
        { variation: 'treatment', weight: 10_000 },
        { variation: 'control', weight: 10_000 },
        { variation: 'control', weight: 80_000, untracked: true },
      ],
    };
    expect(validateFlagEnvironment(checkout, settings({ defaultServe: { rollout } }), known())).toEqual([]);
    // Without an experiment, `untracked: false` says nothing and is harmless.
    const plain = { variations: [{ variation: 'control', weight: 100_000, untracked: false }] };
    expect(validateFlagEnvironment(checkout, settings({ defaultServe: { rollout: plain } }), known())).toEqual([]);
  });

  it('refuses untracked slices outside experiment rollouts, and a variation twice on the same side', () => {
    const s = settings({
      rules: [
        {
          id: 'r',
          clauses: [],
          serve: { rollout: { variations: [{ variation: 'treatment', weight: 50_000 }, { variation: 'control', weight: 50_000, untracked: true }] } },
        },
      ],
      defaultServe: {
        rollout: {
          experiment: 'checkout-2026',
          variations: [
            { variation: 'control', weight: 10_000 },
            { variation: 'control', weight: 10_000 },
            { variation: 'treatment', weight: 40_000, untracked: true },
            { variation: 'treatment', weight: 40_000, untracked: true },
          ],
        },
      },
    });
    expect(validateFlagEnvironment(checkout, s, known())).toEqual([
      { path: 'rules[0].serve.rollout.variations[1].untracked', message: 'only a rollout that runs an experiment ("experiment") can have untracked slices' },
      { path: 'defaultServe.rollout.variations[1].variation', message: 'variation "control" appears twice tracked' },
      { path: 'defaultServe.rollout.variations[3].variation', message: 'variation "treatment" appears twice untracked' },
    ]);
    // Outside an experiment a variation still appears once, untracked or not.
    const twice = { variations: [{ variation: 'control', weight: 50_000 }, { variation: 'control', weight: 50_000 }] };
    expect(validateFlagEnvironment(checkout, settings({ defaultServe: { rollout: twice } }), known())).toEqual([
      { path: 'defaultServe.rollout.variations[1].variation', message: 'variation "control" appears twice' },
    ]);
  });

  it('reports schema problems of untrusted input with JSON paths', () => {
    expect(validateFlagEnvironment(checkout, { on: 'yes', rules: [{ id: 'r', clauses: [{ attribute: 'a', operator: 'like', values: [] }], serve: {} }] }, known())).toEqual([
      { path: 'offVariation', message: 'is required' },
      { path: 'prerequisites', message: 'is required' },
      { path: 'defaultServe', message: 'is required' },
      { path: 'salt', message: 'is required' },
      { path: 'on', message: 'must be boolean' },
      { path: 'rules[0].clauses[0].operator', message: expect.stringContaining('must be one of "in", "notIn"') },
      { path: 'rules[0].serve', message: 'must have exactly one of "variation" or "rollout"' },
    ]);
  });

  it('checks that prerequisites exist, name real variations and do not form a cycle', () => {
    const a = boolDef('a');
    const b = boolDef('b');
    const c = boolDef('c');
    const env = known([
      [a, settings({ offVariation: 'off', defaultServe: { variation: 'on' }, prerequisites: [{ flag: 'b', variations: ['on'] }] })],
      [b, settings({ offVariation: 'off', defaultServe: { variation: 'on' }, prerequisites: [{ flag: 'c', variations: ['on'] }] })],
      [c, settings({ offVariation: 'off', defaultServe: { variation: 'on' } })],
    ]);
    const cyclic = settings({
      offVariation: 'off',
      defaultServe: { variation: 'on' },
      prerequisites: [
        { flag: 'a', variations: ['on', 'maybe'] },
        { flag: 'zzz', variations: ['on'] },
        { flag: 'c', variations: ['on'] },
        { flag: 'c', variations: ['off'] },
      ],
    });
    expect(validateFlagEnvironment(c, cyclic, env)).toEqual([
      { path: 'prerequisites[0].variations[1]', message: 'flag "a" has no variation "maybe"' },
      { path: 'prerequisites[1].flag', message: 'unknown flag "zzz"' },
      { path: 'prerequisites[2].flag', message: 'a flag cannot be its own prerequisite' },
      { path: 'prerequisites[3].flag', message: 'a flag cannot be its own prerequisite' },
      { path: 'prerequisites[0].flag', message: 'prerequisite cycle: c -> a -> b -> c' },
    ]);
  });

  it('limits the prerequisite depth', () => {
    const chain = Array.from({ length: 12 }, (_, i) => boolDef(`f${i}`));
    const env = known(
      chain.map((def, i) => [
        def,
        settings({ offVariation: 'off', defaultServe: { variation: 'on' }, prerequisites: i + 1 < chain.length ? [{ flag: `f${i + 1}`, variations: ['on'] }] : [] }),
      ]),
    );
    const top = boolDef('top');
    const problems = validateFlagEnvironment(top, settings({ offVariation: 'off', defaultServe: { variation: 'on' }, prerequisites: [{ flag: 'f0', variations: ['on'] }] }), env);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/^prerequisites nest deeper than 10: top -> f0 -> f1/);
  });
});

describe('validateFlag', () => {
  it('validates the definition and every environment, with environment-prefixed paths', () => {
    const flag = {
      ...checkout,
      environments: {
        prod: settings({ rules: [{ id: 'r', clauses: [{ operator: 'inSegment', values: ['beta'] }], serve: { variation: 'x' } }] }),
        dev: settings({ salt: '' }),
      },
    };
    expect(validateFlag(flag, new Map([['prod', known()]]))).toEqual([
      { path: 'environments.dev.salt', message: 'must NOT have fewer than 1 characters' },
      { path: 'environments.prod.rules[0].serve.variation', message: 'unknown variation "x"' },
    ]);
  });
});
