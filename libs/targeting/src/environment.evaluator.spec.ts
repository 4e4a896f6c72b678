import * as fc from 'fast-check';
import type {
  EnvironmentSnapshotV1,
  FlagEnvironmentSettingsV1,
  FlagSnapshotV1,
  RuleV1,
  SegmentDefinitionV1,
} from '@flagstream/protocol';
import { bucketOf } from './bucket.hash';
import { compile, type SnapshotPatch } from './environment.evaluator';

function booleanFlag(key: string, settings: Partial<FlagEnvironmentSettingsV1> = {}, extra: Partial<FlagSnapshotV1> = {}): FlagSnapshotV1 {
  return {
    key,
    kind: 'boolean',
    variations: [
      { key: 'on', value: true },
      { key: 'off', value: false },
    ],
    clientVisible: false,
    version: 1,
    settings: { on: true, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'off' }, salt: key, ...settings },
    ...extra,
  };
}

function snapshot(flags: FlagSnapshotV1[], segments: SegmentDefinitionV1[] = []): EnvironmentSnapshotV1 {
  return { environment: 'prod', revision: 7, flags, segments };
}

const enterpriseRule: RuleV1 = {
  id: 'enterprise',
  clauses: [
    { attribute: 'country', operator: 'in', values: ['US', 'CA'] },
    { attribute: 'plan', operator: 'equals', values: ['enterprise'] },
  ],
  serve: { variation: 'on' },
};

describe('EnvironmentEvaluator', () => {
  describe('reasons', () => {
    it('serves the off variation with DISABLED when the flag is off', () => {
      const evaluator = compile(snapshot([booleanFlag('f', { on: false, defaultServe: { variation: 'on' }, rules: [enterpriseRule] })]));
      expect(evaluator.evaluate('f', { country: 'US', plan: 'enterprise' })).toEqual({ key: 'f', value: false, variation: 'off', reason: 'DISABLED' });
    });

    it('reports STATIC for an on flag without rules, prerequisites or rollout', () => {
      const evaluator = compile(snapshot([booleanFlag('f', { defaultServe: { variation: 'on' } })]));
      expect(evaluator.evaluate('f', {})).toEqual({ key: 'f', value: true, variation: 'on', reason: 'STATIC' });
    });

    it('reports TARGETING_MATCH with the rule id, and DEFAULT when no rule matches', () => {
      const evaluator = compile(snapshot([booleanFlag('f', { rules: [enterpriseRule] })]));
      expect(evaluator.evaluate('f', { country: 'CA', plan: 'enterprise' })).toEqual({
        key: 'f',
        value: true,
        variation: 'on',
        reason: 'TARGETING_MATCH',
        ruleId: 'enterprise',
      });
      expect(evaluator.evaluate('f', { country: 'CA', plan: 'free' })).toEqual({ key: 'f', value: false, variation: 'off', reason: 'DEFAULT' });
    });

    it('applies the first matching rule', () => {
      const evaluator = compile(
        snapshot([
          booleanFlag('f', {
            rules: [
              { id: 'first', clauses: [{ attribute: 'a', operator: 'exists', values: [] }], serve: { variation: 'off' } },
              { id: 'second', clauses: [], serve: { variation: 'on' } },
            ],
          }),
        ]),
      );
      expect(evaluator.evaluate('f', { a: 1 }).ruleId).toBe('first');
      expect(evaluator.evaluate('f', {}).ruleId).toBe('second');
    });

    it('reports SPLIT for rollouts, bucketing by targeting key with the flag salt', () => {
      const flag = booleanFlag('f', {
        salt: 'salt',
        defaultServe: { rollout: { variations: [{ variation: 'on', weight: 50_000 }, { variation: 'off', weight: 50_000 }] } },
      });
      const evaluator = compile(snapshot([flag]));
      // Golden: bucketOf('salt', 'user-1') = 6618 (< 50000: on); bucketOf('salt', 'user-2') = 98380 (off).
      expect(evaluator.evaluate('f', { targetingKey: 'user-1' })).toEqual({ key: 'f', value: true, variation: 'on', reason: 'SPLIT' });
      expect(evaluator.evaluate('f', { targetingKey: 'user-2' })).toEqual({ key: 'f', value: false, variation: 'off', reason: 'SPLIT' });
    });

    it('buckets by another attribute and with an explicit seed when configured', () => {
      const flag = booleanFlag('f', {
        salt: 'ignored',
        defaultServe: {
          rollout: { bucketBy: 'tenant.id', seed: 'salt', variations: [{ variation: 'on', weight: 6619 }, { variation: 'off', weight: 93_381 }] },
        },
      });
      const evaluator = compile(snapshot([flag]));
      expect(bucketOf('salt', 'user-1')).toBe(6618);
      expect(evaluator.evaluate('f', { targetingKey: 'x', tenant: { id: 'user-1' } }).variation).toBe('on');
      expect(evaluator.evaluate('f', { targetingKey: 'user-1', tenant: { id: 'user-2' } }).variation).toBe('off');
      expect(evaluator.evaluate('f', { targetingKey: 'user-1' })).toMatchObject({ reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });
    });

    it('reports a rule rollout as SPLIT with the rule id', () => {
      const flag = booleanFlag('f', {
        rules: [{ id: 'r', clauses: [], serve: { rollout: { variations: [{ variation: 'on', weight: 100_000 }, { variation: 'off', weight: 0 }] } } }],
      });
      expect(compile(snapshot([flag])).evaluate('f', { targetingKey: 'k' })).toEqual({
        key: 'f',
        value: true,
        variation: 'on',
        reason: 'SPLIT',
        ruleId: 'r',
      });
    });

    it('hashes numeric bucketing values as their decimal string', () => {
      const flag = booleanFlag('f', {
        salt: 'dark-mode',
        defaultServe: { rollout: { bucketBy: 'id', variations: [{ variation: 'on', weight: 16_087 }, { variation: 'off', weight: 83_913 }] } },
      });
      // Golden: bucketOf('dark-mode', '0') = 16086.
      expect(compile(snapshot([flag])).evaluate('f', { id: 0 }).variation).toBe('on');
    });
  });

  describe('errors', () => {
    const rollout = booleanFlag('r', {
      defaultServe: { rollout: { variations: [{ variation: 'on', weight: 50_000 }, { variation: 'off', weight: 50_000 }] } },
    });

    it('gives FLAG_NOT_FOUND for unknown and archived flags, with the caller default', () => {
      const evaluator = compile(snapshot([booleanFlag('archived', {}, { archived: true })]));
      expect(evaluator.evaluate('nope', {}, { defaultValue: true })).toMatchObject({
        key: 'nope',
        value: true,
        reason: 'ERROR',
        errorCode: 'FLAG_NOT_FOUND',
      });
      expect(evaluator.evaluate('archived', {}).errorCode).toBe('FLAG_NOT_FOUND');
      expect(evaluator.evaluateAll({})).toEqual([]);
    });

    it('gives TYPE_MISMATCH when the caller expects another kind', () => {
      const evaluator = compile(snapshot([rollout]));
      expect(evaluator.evaluate('r', { targetingKey: 'a' }, { kind: 'string', defaultValue: 'x' })).toMatchObject({
        value: 'x',
        reason: 'ERROR',
        errorCode: 'TYPE_MISMATCH',
      });
      expect(evaluator.evaluate('r', { targetingKey: 'a' }, { kind: 'boolean' }).reason).toBe('SPLIT');
    });

    it('gives TARGETING_KEY_MISSING when a rollout has nothing to bucket by', () => {
      const evaluator = compile(snapshot([rollout]));
      for (const context of [{}, { targetingKey: '' }, { targetingKey: null }, { targetingKey: {} }, null, 'str', [1]]) {
        expect(evaluator.evaluate('r', context, { defaultValue: false })).toMatchObject({
          value: false,
          variation: undefined,
          reason: 'ERROR',
          errorCode: 'TARGETING_KEY_MISSING',
        });
      }
    });

    it('gives PARSE_ERROR for a flag that breaks the model, and lists it among the problems', () => {
      const broken = booleanFlag('broken', { defaultServe: { variation: 'maybe' } });
      const badWeights = booleanFlag('weights', {
        defaultServe: { rollout: { variations: [{ variation: 'on', weight: 1 }] } },
      });
      const evaluator = compile(snapshot([broken, badWeights, booleanFlag('fine')]));
      expect(evaluator.evaluate('broken', {})).toMatchObject({ reason: 'ERROR', errorCode: 'PARSE_ERROR' });
      expect(evaluator.evaluate('fine', {}).reason).toBe('STATIC');
      expect(evaluator.problems()).toEqual([
        { flag: 'broken', message: 'defaultServe.variation: unknown variation "maybe"' },
        { flag: 'weights', message: 'defaultServe.rollout.variations: weights must sum to 100000 (units of 1/100,000), not 1' },
      ]);
    });

    it('gives GENERAL when a context getter throws', () => {
      const evaluator = compile(snapshot([booleanFlag('f', { rules: [enterpriseRule] })]));
      const hostile = {
        get country(): string {
          throw new Error('boom');
        },
      };
      expect(evaluator.evaluate('f', hostile)).toMatchObject({ reason: 'ERROR', errorCode: 'GENERAL', errorMessage: 'evaluation failed: boom' });
      expect(evaluator.evaluateAll(hostile)[0]).toMatchObject({ errorCode: 'GENERAL' });
    });
  });

  describe('prerequisites', () => {
    const parent = booleanFlag('parent', { rules: [{ id: 'beta', clauses: [{ attribute: 'beta', operator: 'equals', values: [true] }], serve: { variation: 'on' } }] });
    const child = booleanFlag('child', { prerequisites: [{ flag: 'parent', variations: ['on'] }], defaultServe: { variation: 'on' } });

    it('serves the flag only when every prerequisite yields a listed variation', () => {
      const evaluator = compile(snapshot([parent, child]));
      expect(evaluator.evaluate('child', { beta: true })).toEqual({ key: 'child', value: true, variation: 'on', reason: 'DEFAULT' });
      expect(evaluator.evaluate('child', { beta: false })).toEqual({
        key: 'child',
        value: false,
        variation: 'off',
        reason: 'DISABLED',
        prerequisite: 'parent',
      });
    });

    it('treats a missing prerequisite as unmet and propagates a prerequisite error', () => {
      const orphan = booleanFlag('orphan', { prerequisites: [{ flag: 'gone', variations: ['on'] }], defaultServe: { variation: 'on' } });
      const needsKey = booleanFlag('needs-key', {
        defaultServe: { rollout: { variations: [{ variation: 'on', weight: 100_000 }, { variation: 'off', weight: 0 }] } },
      });
      const dependent = booleanFlag('dependent', { prerequisites: [{ flag: 'needs-key', variations: ['on'] }] });
      const evaluator = compile(snapshot([orphan, needsKey, dependent]));
      expect(evaluator.evaluate('orphan', {})).toMatchObject({ variation: 'off', reason: 'DISABLED', prerequisite: 'gone' });
      expect(evaluator.evaluate('dependent', {})).toMatchObject({ reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });
      expect(evaluator.evaluate('dependent', { targetingKey: 'k' })).toMatchObject({ reason: 'DEFAULT' });
    });

    it('stops a prerequisite cycle that slipped past validation with the depth guard', () => {
      const a = booleanFlag('a', { prerequisites: [{ flag: 'b', variations: ['on'] }] });
      const b = booleanFlag('b', { prerequisites: [{ flag: 'a', variations: ['on'] }] });
      const result = compile(snapshot([a, b])).evaluate('a', {});
      expect(result).toMatchObject({ reason: 'ERROR', errorCode: 'GENERAL' });
      expect(result.errorMessage).toContain('prerequisites nested deeper than 10');
    });
  });

  describe('segments', () => {
    const beta: SegmentDefinitionV1 = {
      key: 'beta',
      included: ['alice'],
      excluded: ['mallory'],
      rules: [{ id: 'staff', clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@flagstream.dev'] }] }],
    };
    const betaOrVip: SegmentDefinitionV1 = {
      key: 'beta-or-vip',
      included: ['vip'],
      excluded: [],
      rules: [{ id: 'beta', clauses: [{ operator: 'inSegment', values: ['beta'] }] }],
    };
    const flag = booleanFlag('f', { rules: [{ id: 's', clauses: [{ operator: 'inSegment', values: ['beta-or-vip'] }], serve: { variation: 'on' } }] });

    it('resolves exclusion before inclusion before rules, through nested segments', () => {
      const evaluator = compile(snapshot([flag], [beta, betaOrVip]));
      expect(evaluator.evaluate('f', { targetingKey: 'alice' }).variation).toBe('on');
      expect(evaluator.evaluate('f', { targetingKey: 'vip' }).variation).toBe('on');
      expect(evaluator.evaluate('f', { targetingKey: 'bob', email: 'bob@flagstream.dev' }).variation).toBe('on');
      expect(evaluator.evaluate('f', { targetingKey: 'mallory', email: 'm@flagstream.dev' }).variation).toBe('off');
      expect(evaluator.evaluate('f', { email: 'anon@flagstream.dev' }).variation).toBe('on');
      expect(evaluator.evaluate('f', {}).variation).toBe('off');
    });

    it('fails flags whose segments are unknown or cyclic', () => {
      const loopA: SegmentDefinitionV1 = { key: 'loop-a', included: [], excluded: [], rules: [{ id: 'x', clauses: [{ operator: 'inSegment', values: ['loop-b'] }] }] };
      const loopB: SegmentDefinitionV1 = { key: 'loop-b', included: [], excluded: [], rules: [{ id: 'x', clauses: [{ operator: 'inSegment', values: ['loop-a'] }] }] };
      const usesLoop = booleanFlag('loop', { rules: [{ id: 's', clauses: [{ operator: 'inSegment', values: ['loop-a'] }], serve: { variation: 'on' } }] });
      const evaluator = compile(snapshot([flag, usesLoop], [loopA, loopB]));
      expect(evaluator.evaluate('f', {}).errorCode).toBe('PARSE_ERROR');
      expect(evaluator.evaluate('loop', {}).errorCode).toBe('PARSE_ERROR');
      expect(evaluator.problems().map((p) => p.flag)).toEqual(['f', 'loop']);
      expect(evaluator.problems()[1]!.message).toContain('cycle');
    });
  });

  describe('evaluateAll', () => {
    it('evaluates every flag in key order, or only client-visible ones', () => {
      const evaluator = compile(
        snapshot([booleanFlag('b', { defaultServe: { variation: 'on' } }, { clientVisible: true }), booleanFlag('a'), booleanFlag('c', { on: false })]),
      );
      expect(evaluator.evaluateAll({}).map((r) => [r.key, r.variation, r.reason])).toEqual([
        ['a', 'off', 'STATIC'],
        ['b', 'on', 'STATIC'],
        ['c', 'off', 'DISABLED'],
      ]);
      expect(evaluator.evaluateAll({}, { clientVisibleOnly: true }).map((r) => r.key)).toEqual(['b']);
    });

    it('agrees with evaluate flag by flag', () => {
      const flags = [
        booleanFlag('x', { rules: [enterpriseRule] }),
        booleanFlag('y', { defaultServe: { rollout: { variations: [{ variation: 'on', weight: 30_000 }, { variation: 'off', weight: 70_000 }] } } }),
      ];
      const evaluator = compile(snapshot(flags));
      for (const context of [{ targetingKey: 'u1', country: 'US', plan: 'enterprise' }, { targetingKey: 'u2' }, {}]) {
        expect(evaluator.evaluateAll(context)).toEqual(evaluator.flagKeys().map((key) => evaluator.evaluate(key, context)));
      }
    });
  });

  describe('experiment rollouts', () => {
    const exposureKeys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    // 10% on and 10% off in the experiment; the other 80% are served off outside its coverage.
    const slices = [
      { variation: 'on', weight: 10_000 },
      { variation: 'off', weight: 10_000 },
      { variation: 'off', weight: 80_000, untracked: true },
    ];
    const experimentFlag = (rollout: Record<string, unknown> = {}) =>
      booleanFlag('f', { salt: 'salt', defaultServe: { rollout: { experiment: 'checkout-2026', variations: slices, ...rollout } } });

    it('marks results of tracked slices with the experiment, and not those of untracked slices', () => {
      const evaluator = compile(snapshot([experimentFlag()]));
      // Golden: bucketOf('salt', 'user-1') = 6618 (the on slice); bucketOf('salt', 'user-2') = 98380 (untracked).
      expect(evaluator.evaluate('f', { targetingKey: 'user-1' })).toEqual({ key: 'f', value: true, variation: 'on', reason: 'SPLIT', experiment: 'checkout-2026' });
      expect(evaluator.evaluate('f', { targetingKey: 'user-2' })).toEqual({ key: 'f', value: false, variation: 'off', reason: 'SPLIT' });
      const trackedOff = exposureKeys.find((k) => bucketOf('salt', k) >= 10_000 && bucketOf('salt', k) < 20_000)!;
      expect(evaluator.evaluate('f', { targetingKey: trackedOff })).toEqual({ key: 'f', value: false, variation: 'off', reason: 'SPLIT', experiment: 'checkout-2026' });
      for (const targetingKey of exposureKeys) {
        const r = evaluator.evaluate('f', { targetingKey });
        expect([targetingKey, r.experiment]).toEqual([targetingKey, bucketOf('salt', targetingKey) < 20_000 ? 'checkout-2026' : undefined]);
        expect(r.experimentUnit).toBeUndefined();
      }
    });

    it('names the unit attribute when the experiment buckets by something other than targetingKey', () => {
      const byTenant = compile(snapshot([experimentFlag({ bucketBy: 'tenant.id' })]));
      expect(byTenant.evaluate('f', { targetingKey: 'x', tenant: { id: 'user-1' } })).toEqual({
        key: 'f',
        value: true,
        variation: 'on',
        reason: 'SPLIT',
        experiment: 'checkout-2026',
        experimentUnit: 'tenant.id',
      });
      expect(byTenant.evaluate('f', { targetingKey: 'user-1', tenant: { id: 'user-2' } })).toEqual({ key: 'f', value: false, variation: 'off', reason: 'SPLIT' });
      // No unit to bucket by: an error, never an exposure of the experiment.
      expect(byTenant.evaluate('f', { targetingKey: 'user-1' })).toMatchObject({ reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING', experiment: undefined });
      const byTargetingKey = compile(snapshot([experimentFlag({ bucketBy: 'targetingKey' })]));
      expect(byTargetingKey.evaluate('f', { targetingKey: 'user-1' })).toEqual({ key: 'f', value: true, variation: 'on', reason: 'SPLIT', experiment: 'checkout-2026' });
    });

    it('marks a rule rollout with both the rule and the experiment, and leaves other rollouts unmarked', () => {
      const flag = booleanFlag('f', {
        salt: 'salt',
        rules: [{ id: 'beta', clauses: [{ attribute: 'beta', operator: 'equals', values: [true] }], serve: { rollout: { experiment: 'beta-test', variations: slices } } }],
        defaultServe: { rollout: { variations: [{ variation: 'on', weight: 50_000 }, { variation: 'off', weight: 50_000 }] } },
      });
      const evaluator = compile(snapshot([flag]));
      expect(evaluator.evaluate('f', { targetingKey: 'user-1', beta: true })).toEqual({ key: 'f', value: true, variation: 'on', reason: 'SPLIT', ruleId: 'beta', experiment: 'beta-test' });
      expect(evaluator.evaluate('f', { targetingKey: 'user-2', beta: true })).toEqual({ key: 'f', value: false, variation: 'off', reason: 'SPLIT', ruleId: 'beta' });
      expect(evaluator.evaluate('f', { targetingKey: 'user-1' })).toEqual({ key: 'f', value: true, variation: 'on', reason: 'SPLIT' });
    });

    it('serves every key the variation it gets without the experiment: the marker moves no bucket', () => {
      const marked = compile(snapshot([experimentFlag({ bucketBy: 'id' })]));
      const plain = compile(
        snapshot([booleanFlag('f', { salt: 'salt', defaultServe: { rollout: { bucketBy: 'id', variations: [{ variation: 'on', weight: 10_000 }, { variation: 'off', weight: 90_000 }] } } })]),
      );
      fc.assert(
        fc.property(fc.oneof(fc.string({ minLength: 1 }), fc.integer()), (id) => {
          const a = marked.evaluate('f', { id });
          const b = plain.evaluate('f', { id });
          return a.variation === b.variation && a.value === b.value && a.reason === b.reason;
        }),
        { numRuns: 2000 },
      );
    });

    it('refuses untracked slices in a rollout without an experiment (the flag evaluates to PARSE_ERROR)', () => {
      const flag = booleanFlag('f', { defaultServe: { rollout: { variations: [{ variation: 'on', weight: 100_000, untracked: true }] } } });
      expect(compile(snapshot([flag])).evaluate('f', { targetingKey: 'user-1' })).toMatchObject({
        reason: 'ERROR',
        errorCode: 'PARSE_ERROR',
        errorMessage: 'flag "f" is invalid: defaultServe.rollout.variations[0].untracked: only a rollout that runs an experiment ("experiment") can have untracked slices',
      });
    });
  });

  describe('results', () => {
    it('all have the same properties in the same order (one hidden class), absent ones undefined', () => {
      const flags = [
        booleanFlag('off', { on: false }),
        booleanFlag('static', { defaultServe: { variation: 'on' } }),
        booleanFlag('rule', { rules: [enterpriseRule] }),
        booleanFlag('prereq', { prerequisites: [{ flag: 'off', variations: ['on'] }] }),
        booleanFlag('exp', { defaultServe: { rollout: { experiment: 'e', bucketBy: 'tenant', variations: [{ variation: 'on', weight: 50_000 }, { variation: 'off', weight: 50_000, untracked: true }] } } }),
      ];
      const evaluator = compile(snapshot(flags));
      const results = [
        ...flags.map((f) => evaluator.evaluate(f.key, { targetingKey: 'user-1', tenant: 'user-1', country: 'US', plan: 'enterprise' })),
        evaluator.evaluate('exp', { tenant: 'user-2' }),
        evaluator.evaluate('exp', {}),
        evaluator.evaluate('missing', {}),
      ];
      expect(results.map((r) => r.reason)).toEqual(['DISABLED', 'STATIC', 'TARGETING_MATCH', 'DISABLED', 'SPLIT', 'SPLIT', 'ERROR', 'ERROR']);
      expect(results.filter((r) => r.experiment !== undefined).map((r) => [r.key, r.experiment, r.experimentUnit])).toEqual([['exp', 'e', 'tenant']]);
      const shape = ['key', 'value', 'variation', 'reason', 'ruleId', 'prerequisite', 'errorCode', 'errorMessage', 'experiment', 'experimentUnit'];
      for (const r of results) expect(Object.keys(r)).toEqual(shape);
    });

    it('are shared, frozen objects with frozen copies of json values', () => {
      const json: FlagSnapshotV1 = {
        key: 'config',
        kind: 'json',
        variations: [{ key: 'v1', value: { limits: { rps: 10 } } }],
        clientVisible: false,
        version: 1,
        settings: { on: true, offVariation: 'v1', prerequisites: [], rules: [], defaultServe: { variation: 'v1' }, salt: 's' },
      };
      const evaluator = compile(snapshot([json]));
      const first = evaluator.evaluate('config', {});
      expect(evaluator.evaluate('config', { other: 1 })).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(() => {
        (first.value as { limits: { rps: number } }).limits.rps = 99;
      }).toThrow(TypeError);
      expect(json.variations[0]!.value).toEqual({ limits: { rps: 10 } });
      expect(Object.isFrozen(json.variations[0]!.value)).toBe(false);
    });
  });

  describe('apply (incremental recompile)', () => {
    const seg: SegmentDefinitionV1 = { key: 'seg', included: ['alice'], excluded: [], rules: [] };
    const usesSeg = booleanFlag('uses-seg', { rules: [{ id: 's', clauses: [{ operator: 'inSegment', values: ['seg'] }], serve: { variation: 'on' } }] });
    const other = booleanFlag('other', { defaultServe: { variation: 'on' } });

    it('recompiles only changed flags and the flags that use a changed segment', () => {
      const before = compile(snapshot([usesSeg, other], [seg]));
      const after = before.apply({ revision: 8, segments: [{ ...seg, included: ['bob'] }] });
      expect(after.revision).toBe(8);
      expect(after.compiledFlag('other')).toBe(before.compiledFlag('other'));
      expect(after.compiledFlag('uses-seg')).not.toBe(before.compiledFlag('uses-seg'));
      expect(after.evaluate('uses-seg', { targetingKey: 'bob' }).variation).toBe('on');
      expect(after.evaluate('uses-seg', { targetingKey: 'alice' }).variation).toBe('off');
      // The old evaluator is untouched.
      expect(before.evaluate('uses-seg', { targetingKey: 'alice' }).variation).toBe('on');
    });

    it('adds, replaces, archives and removes flags and segments', () => {
      const before = compile(snapshot([other], []));
      const added = before.apply({ revision: 8, flags: [usesSeg], segments: [seg] });
      expect(added.evaluate('uses-seg', { targetingKey: 'alice' }).variation).toBe('on');
      const removedSegment = added.apply({ revision: 9, removedSegments: ['seg'] });
      expect(removedSegment.evaluate('uses-seg', {}).errorCode).toBe('PARSE_ERROR');
      const archived = removedSegment.apply({ revision: 10, flags: [{ ...other, archived: true }], removedFlags: ['uses-seg'] });
      expect(archived.flagKeys()).toEqual([]);
      expect(archived.evaluate('other', {}).errorCode).toBe('FLAG_NOT_FOUND');
    });

    it('ends in the same state as compiling the final snapshot', () => {
      const nested: SegmentDefinitionV1 = { key: 'outer', included: [], excluded: [], rules: [{ id: 'r', clauses: [{ operator: 'inSegment', values: ['seg'] }] }] };
      const usesOuter = booleanFlag('uses-outer', { rules: [{ id: 's', clauses: [{ operator: 'inSegment', values: ['outer'] }], serve: { variation: 'on' } }] });
      const changedSeg = { ...seg, included: ['carol'] };
      const incremental = compile(snapshot([usesSeg, usesOuter, other], [seg, nested])).apply({ revision: 8, segments: [changedSeg] });
      const full = compile(snapshot([usesSeg, usesOuter, other], [changedSeg, nested]));
      for (const targetingKey of ['alice', 'carol', 'dave']) {
        expect(incremental.evaluateAll({ targetingKey })).toEqual(full.evaluateAll({ targetingKey }));
      }
      expect(incremental.evaluate('uses-outer', { targetingKey: 'carol' }).variation).toBe('on');
    });
  });

  describe('never throws', () => {
    const evaluator = compile(
      snapshot(
        [
          booleanFlag('rules', {
            rules: [
              enterpriseRule,
              { id: 'semver', clauses: [{ attribute: 'app.version', operator: 'semverGte', values: ['2.3.0'] }], serve: { variation: 'on' } },
              { id: 'date', clauses: [{ attribute: 'signup', operator: 'after', values: ['2024-01-01'] }], serve: { variation: 'on' } },
              { id: 're', clauses: [{ attribute: 'email', operator: 'matches', values: ['^[a-z]+@x\\.io$'], negate: true }], serve: { variation: 'on' } },
              { id: 'num', clauses: [{ attribute: 'age', operator: 'gte', values: [18] }], serve: { variation: 'on' } },
              { id: 'seg', clauses: [{ operator: 'inSegment', values: ['seg'] }], serve: { variation: 'on' } },
            ],
            defaultServe: { rollout: { bucketBy: 'tenant', variations: [{ variation: 'on', weight: 1 }, { variation: 'off', weight: 99_999 }] } },
          }),
          booleanFlag('child', { prerequisites: [{ flag: 'rules', variations: ['on'] }] }),
        ],
        [{ key: 'seg', included: ['a'], excluded: ['b'], rules: [{ id: 'r', clauses: [{ attribute: 'tags', operator: 'contains', values: ['x'] }] }] }],
      ),
    );
    const keys = ['targetingKey', 'country', 'plan', 'app', 'version', 'signup', 'email', 'age', 'tags', 'tenant', '__proto__', 'constructor'];

    it('returns a result for arbitrary contexts', () => {
      fc.assert(
        fc.property(fc.oneof(fc.dictionary(fc.constantFrom(...keys), fc.anything({ withDate: true, withMap: true, withNullPrototype: true })), fc.anything()), (context) => {
          for (const key of ['rules', 'child', 'missing']) {
            const result = evaluator.evaluate(key, context);
            expect(['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'DEFAULT', 'ERROR']).toContain(result.reason);
            expect(result.key).toBe(key);
            if (result.reason === 'ERROR') expect(result.errorCode).toBeDefined();
            else expect(typeof result.value).toBe('boolean');
          }
          expect(evaluator.evaluateAll(context)).toHaveLength(2);
        }),
        { numRuns: 3000 },
      );
    });

    it('compiles arbitrary snapshots without throwing', () => {
      fc.assert(
        fc.property(fc.anything(), fc.array(fc.anything(), { maxLength: 3 }), (junk, flags) => {
          const evaluator = compile({ environment: 'e', revision: 1, flags: [...flags, { ...booleanFlag('f'), settings: junk }], segments: [] } as unknown as EnvironmentSnapshotV1);
          expect(evaluator.evaluate('f', {}).key).toBe('f');
          expect(compile(junk as EnvironmentSnapshotV1).evaluateAll({})).toEqual(expect.any(Array));
        }),
        { numRuns: 500 },
      );
    });
  });
});

describe('lazy compilation (compile(snapshot, { lazy: true }))', () => {
  const keys = ['f0', 'f1', 'f2', 'f3', 'f4'];
  const segmentKeys = ['s0', 's1', 's2'];
  const rollout = (weights: [number, number]): FlagEnvironmentSettingsV1['defaultServe'] => ({
    rollout: { variations: [{ variation: 'on', weight: weights[0] }, { variation: 'off', weight: weights[1] }] },
  });
  // Rules built from the fixtures above, plus broken ones (unknown variation, unknown segment, bad operand).
  const rules = fc.constantFrom<RuleV1>(
    enterpriseRule,
    { id: 'semver', clauses: [{ attribute: 'app.version', operator: 'semverGte', values: ['2.3.0'] }], serve: { variation: 'on' } },
    { id: 'date', clauses: [{ attribute: 'signup', operator: 'after', values: ['2024-01-01'] }], serve: { variation: 'off' } },
    { id: 're', clauses: [{ attribute: 'email', operator: 'matches', values: ['^[a-z]+@x\\.io$'], negate: true }], serve: { variation: 'on' } },
    { id: 'num', clauses: [{ attribute: 'age', operator: 'gte', values: [18] }], serve: rollout([30_000, 70_000]) },
    { id: 'seg0', clauses: [{ operator: 'inSegment', values: ['s0'] }], serve: { variation: 'on' } },
    { id: 'seg2', clauses: [{ operator: 'inSegment', values: ['s2'] }], serve: { variation: 'off' } },
    { id: 'ghost', clauses: [{ operator: 'inSegment', values: ['nope'] }], serve: { variation: 'on' } },
    { id: 'maybe', clauses: [], serve: { variation: 'maybe' } },
    { id: 'bad', clauses: [{ attribute: 'age', operator: 'gte', values: ['x'] }], serve: { variation: 'on' } },
  );
  const flagArb = (key: string) =>
    fc
      .record({
        on: fc.boolean(),
        prerequisites: fc
          .subarray(keys.filter((k) => k !== key))
          .chain((ps) => fc.tuple(...ps.map((p) => fc.constantFrom('on', 'off', 'both').map((v) => ({ flag: p, variations: v === 'both' ? ['on', 'off'] : [v] }))))),
        rules: fc.array(rules, { maxLength: 3 }).map((rs) => rs.map((r, i) => ({ ...r, id: `${r.id}-${i}` }))),
        defaultServe: fc.oneof(
          fc.constantFrom<FlagEnvironmentSettingsV1['defaultServe']>({ variation: 'on' }, { variation: 'off' }),
          fc.constantFrom<[number, number]>([50_000, 50_000], [100_000, 0], [1, 2]).map(rollout),
        ),
        archived: fc.boolean().map((a) => a && key === 'f4'),
        clientVisible: fc.boolean(),
      })
      .map(({ on, prerequisites, rules: rs, defaultServe, archived, clientVisible }) =>
        booleanFlag(key, { on, prerequisites: [...prerequisites], rules: rs, defaultServe }, { archived, clientVisible }),
      );
  const segmentArb = (key: string) =>
    fc
      .record({
        included: fc.subarray(['alice', 'bob']),
        excluded: fc.subarray(['mallory', 'bob']),
        refs: fc.subarray([...segmentKeys.filter((s) => s !== key), 'nope']),
        staff: fc.boolean(),
      })
      .map(
        ({ included, excluded, refs, staff }): SegmentDefinitionV1 => ({
          key,
          included,
          excluded,
          rules: [
            ...refs.map((ref, i) => ({ id: `r${i}`, clauses: [{ operator: 'inSegment' as const, values: [ref] }] })),
            ...(staff ? [{ id: 'staff', clauses: [{ attribute: 'email', operator: 'endsWith' as const, values: ['@flagstream.dev'] }] }] : []),
          ],
        }),
      );
  const snapshotArb = fc
    .record({
      flags: fc.tuple(...keys.map(flagArb)),
      segments: fc.subarray(segmentKeys).chain((present) => fc.tuple(...present.map(segmentArb))),
    })
    .map(({ flags, segments }) => snapshot([...flags], [...segments]));
  const contextArb = fc.record(
    {
      targetingKey: fc.constantFrom('alice', 'bob', 'mallory', 'carol', '', 42),
      country: fc.constantFrom('US', 'CA', 'DE'),
      plan: fc.constantFrom('enterprise', 'free'),
      email: fc.constantFrom('bob@flagstream.dev', 'ann@x.io', 'x@y.z'),
      age: fc.constantFrom(12, 18, 40, 'old'),
      app: fc.constantFrom({ version: '2.4.0' }, { version: '1.0.0' }, {}),
      signup: fc.constantFrom('2023-05-01', '2025-01-01'),
    },
    { requiredKeys: [] },
  );
  /** Every observable of an evaluator, in a fixed order: what eager and lazy must agree on. */
  const observe = (evaluator: ReturnType<typeof compile>, contexts: unknown[]) => ({
    keys: evaluator.flagKeys(),
    has: [...keys, 'missing'].map((k) => evaluator.has(k)),
    values: contexts.map((c) => [...keys, 'missing'].map((k) => evaluator.evaluate(k, c, { kind: 'boolean', defaultValue: null }))),
    plain: contexts.map((c) => [...keys, 'missing'].map((k) => evaluator.evaluate(k, c))),
    all: contexts.map((c) => evaluator.evaluateAll(c)),
    visible: contexts.map((c) => evaluator.evaluateAll(c, { clientVisibleOnly: true })),
    problems: evaluator.problems(),
  });

  it('gives exactly the results of eager compilation, whatever is evaluated first', () => {
    fc.assert(
      fc.property(snapshotArb, fc.array(contextArb, { minLength: 1, maxLength: 4 }), fc.shuffledSubarray([...keys, 'missing']), (snap, contexts, firstKeys) => {
        const eager = compile(snap);
        const lazy = compile(snap, { lazy: true });
        expect(eager.lazy).toBe(false);
        expect(lazy.lazy).toBe(true);
        // Touch some flags first (in a random order, prerequisites compiling others on the way).
        for (const key of firstKeys) expect(lazy.evaluate(key, contexts[0])).toEqual(eager.evaluate(key, contexts[0]));
        expect(observe(lazy, contexts)).toEqual(observe(eager, contexts));
      }),
      { numRuns: 400 },
    );
  });

  it('stays identical to eager compilation through apply(), and apply() leaves the older evaluator as it was', () => {
    fc.assert(
      fc.property(
        snapshotArb,
        snapshotArb,
        fc.array(contextArb, { minLength: 1, maxLength: 3 }),
        fc.subarray(keys),
        fc.subarray(segmentKeys),
        fc.subarray(keys),
        (before, after, contexts, touched, changedSegments, changedFlags) => {
          const patch: SnapshotPatch = {
            revision: 8,
            flags: after.flags.filter((f) => changedFlags.includes(f.key)),
            segments: after.segments.filter((s) => changedSegments.includes(s.key)),
            removedSegments: changedSegments.filter((k) => !after.segments.some((s) => s.key === k)),
          };
          const eager = compile(before);
          const lazy = compile(before, { lazy: true });
          for (const key of touched) lazy.evaluate(key, contexts[0]);
          const eagerNext = eager.apply(patch);
          const lazyNext = lazy.apply(patch);
          expect(lazyNext.lazy).toBe(true);
          expect(lazyNext.revision).toBe(8);
          expect(observe(lazyNext, contexts)).toEqual(observe(eagerNext, contexts));
          expect(observe(lazy, contexts)).toEqual(observe(eager, contexts));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('compiles a flag only when it is first needed, once', () => {
    const parent = booleanFlag('parent', { rules: [enterpriseRule] });
    const child = booleanFlag('child', { prerequisites: [{ flag: 'parent', variations: ['on'] }], defaultServe: { variation: 'on' } });
    const other = booleanFlag('other');
    const lazy = compile(snapshot([parent, child, other]), { lazy: true });
    const compiled = (lazy as unknown as { flags: Map<string, unknown> }).flags;
    expect([...compiled.keys()]).toEqual([]);
    expect(lazy.has('other')).toBe(true);
    expect(lazy.flagKeys()).toEqual(['child', 'other', 'parent']);
    expect([...compiled.keys()]).toEqual([]);
    expect(lazy.evaluate('child', { country: 'US', plan: 'enterprise' }).variation).toBe('on');
    expect([...compiled.keys()].sort()).toEqual(['child', 'parent']);
    const first = lazy.compiledFlag('child');
    expect(lazy.compiledFlag('child')).toBe(first);
    expect(lazy.evaluate('missing', {}).errorCode).toBe('FLAG_NOT_FOUND');
    expect(lazy.evaluateAll({})).toHaveLength(3);
    expect([...compiled.keys()].sort()).toEqual(['child', 'other', 'parent']);
    // A patch recompiles nothing at once; the changed flag compiles on its next use.
    const next = lazy.apply({ revision: 8, flags: [booleanFlag('other', { on: false })] });
    expect(next.compiledFlag('parent')).toBe(lazy.compiledFlag('parent'));
    expect((next as unknown as { flags: Map<string, unknown> }).flags.has('other')).toBe(false);
    expect(next.evaluate('other', {}).reason).toBe('DISABLED');
    expect(lazy.evaluate('other', {}).reason).toBe('STATIC');
  });
});
