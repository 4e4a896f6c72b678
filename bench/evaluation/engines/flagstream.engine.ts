import type { EnvironmentSnapshotV1, FlagSnapshotV1 } from '@flagstream/protocol';
import { compile, type EnvironmentEvaluator } from '@flagstream/targeting';
import { W3_COUNTRIES, W3_VARIATIONS, type BenchFlag, type BenchUser, type EngineAdapter } from '../workload.model';

const booleanVariations = [
  { key: 'on', value: true },
  { key: 'off', value: false },
];

/** The Flagstream flag of a bench shape. */
export function flagstreamFlag(flag: BenchFlag): FlagSnapshotV1 {
  const base = { key: flag.key, clientVisible: true, version: 1 };
  switch (flag.shape) {
    case 'static':
      return {
        ...base,
        kind: 'boolean',
        variations: booleanVariations,
        settings: { on: true, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'on' }, salt: flag.key },
      };
    case 'half':
      return {
        ...base,
        kind: 'boolean',
        variations: booleanVariations,
        settings: {
          on: true,
          offVariation: 'off',
          prerequisites: [],
          rules: [],
          defaultServe: { rollout: { variations: [{ variation: 'on', weight: 50_000 }, { variation: 'off', weight: 50_000 }] } },
          salt: flag.key,
        },
      };
    case 'rules':
      return {
        ...base,
        kind: 'string',
        variations: W3_VARIATIONS.map((v) => ({ key: v, value: v })),
        settings: {
          on: true,
          offVariation: 'control',
          prerequisites: [],
          rules: [
            {
              id: 'enterprise',
              clauses: [
                { attribute: 'country', operator: 'in', values: W3_COUNTRIES },
                { attribute: 'plan', operator: 'equals', values: ['enterprise'] },
              ],
              serve: { variation: 'enterprise' },
            },
            { id: 'example', clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@example.com'] }], serve: { variation: 'example' } },
            { id: 'modern', clauses: [{ attribute: 'appVersion', operator: 'semverGte', values: ['2.3.0'] }], serve: { variation: 'modern' } },
          ],
          defaultServe: { rollout: { variations: [{ variation: 'rollout', weight: 10_000 }, { variation: 'control', weight: 90_000 }] } },
          salt: flag.key,
        },
      };
  }
}

/** A snapshot of bench flags. */
export function flagstreamSnapshot(flags: BenchFlag[]): EnvironmentSnapshotV1 {
  return { environment: 'bench', revision: 1, flags: flags.map(flagstreamFlag), segments: [] };
}

type Context = { targetingKey: string; country: string; plan: string; email: string; appVersion: string };

export class FlagstreamEngine implements EngineAdapter {
  readonly name = 'flagstream';
  readonly version = 'workspace';
  readonly async = false;
  private single!: EnvironmentEvaluator;
  private bulk!: EnvironmentEvaluator;
  private contexts: Context[] = [];

  async setup(flags: BenchFlag[], users: BenchUser[]): Promise<void> {
    this.single = compile(flagstreamSnapshot([
      { key: 'w1', shape: 'static' },
      { key: 'w2', shape: 'half' },
      { key: 'w3', shape: 'rules' },
    ]));
    this.bulk = compile(flagstreamSnapshot(flags));
    if (this.single.problems().length + this.bulk.problems().length > 0) throw new Error('bench flags failed to compile');
    this.contexts = users.map((u) => ({ targetingKey: u.key, country: u.country, plan: u.plan, email: u.email, appVersion: u.appVersion }));
  }

  evaluate(flagKey: string, index: number): unknown {
    return this.single.evaluate(flagKey, this.contexts[index]).value;
  }

  evaluateAll(index: number): unknown {
    return this.bulk.evaluateAll(this.contexts[index]).length;
  }

  async close(): Promise<void> {}
}
