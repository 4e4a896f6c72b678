import { EventEmitter } from 'node:events';
import type { Context } from 'unleash-client';
import UnleashClient from 'unleash-client/lib/client';
import type { FeatureInterface } from 'unleash-client/lib/feature';
import type { RepositoryInterface } from 'unleash-client/lib/repository';
import { defaultStrategies } from 'unleash-client/lib/strategy';
import { W3_COUNTRIES, type BenchFlag, type BenchUser, type EngineAdapter } from '../workload.model';

const variant = (name: string) => ({ name, weight: 1000, stickiness: 'default', weightType: 'variable' });

/** A bench flag as an Unleash feature toggle (also the content of bench/sdk's Unleash backup file). */
export function unleashFeature(flag: BenchFlag): FeatureInterface {
  const base = { name: flag.key, enabled: true, type: 'release', project: 'default', stale: false, impressionData: false, variants: [] };
  const strategy = (name: string, constraints: unknown[], parameters: Record<string, string>, variants: unknown[]) => ({
    name,
    constraints,
    parameters,
    variants,
  });
  switch (flag.shape) {
    case 'static':
      return { ...base, strategies: [strategy('default', [], {}, [])] } as unknown as FeatureInterface;
    case 'half':
      return {
        ...base,
        strategies: [strategy('flexibleRollout', [], { rollout: '50', stickiness: 'userId', groupId: flag.key }, [])],
      } as unknown as FeatureInterface;
    case 'rules':
      return {
        ...base,
        strategies: [
          strategy(
            'default',
            [
              { contextName: 'country', operator: 'IN', values: W3_COUNTRIES },
              { contextName: 'plan', operator: 'IN', values: ['enterprise'] },
            ],
            {},
            [variant('enterprise')],
          ),
          strategy('default', [{ contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@example.com'] }], {}, [variant('example')]),
          // Unleash has no "semver >=": greater-than and equal-to are two strategies.
          strategy('default', [{ contextName: 'appVersion', operator: 'SEMVER_GT', value: '2.3.0' }], {}, [variant('modern')]),
          strategy('default', [{ contextName: 'appVersion', operator: 'SEMVER_EQ', value: '2.3.0' }], {}, [variant('modern')]),
          strategy('flexibleRollout', [], { rollout: '10', stickiness: 'userId', groupId: flag.key }, [variant('rollout')]),
        ],
      } as unknown as FeatureInterface;
  }
}

/** The smallest in-memory repository: Unleash's local evaluator with no network. */
class StaticRepository extends EventEmitter implements RepositoryInterface {
  private readonly features: Map<string, FeatureInterface>;

  constructor(features: FeatureInterface[]) {
    super();
    this.features = new Map(features.map((f) => [f.name, f]));
  }

  getToggle(name: string): FeatureInterface | undefined {
    return this.features.get(name);
  }

  getToggles(): FeatureInterface[] {
    return [...this.features.values()];
  }

  getTogglesWithSegmentData(): never[] {
    return [];
  }

  getSegment(): undefined {
    return undefined;
  }

  stop(): void {}

  async start(): Promise<void> {}
}

export class UnleashEngine implements EngineAdapter {
  readonly name = 'unleash-client';
  readonly version: string;
  readonly async = false;
  private single!: UnleashClient;
  private bulk!: UnleashClient;
  private keys: string[] = [];
  private contexts: Context[] = [];

  constructor(version: string) {
    this.version = version;
  }

  async setup(flags: BenchFlag[], users: BenchUser[]): Promise<void> {
    const single: BenchFlag[] = [
      { key: 'w1', shape: 'static' },
      { key: 'w2', shape: 'half' },
      { key: 'w3', shape: 'rules' },
    ];
    this.single = new UnleashClient(new StaticRepository(single.map(unleashFeature)), defaultStrategies);
    this.bulk = new UnleashClient(new StaticRepository(flags.map(unleashFeature)), defaultStrategies);
    this.keys = flags.map((f) => f.key);
    this.contexts = users.map((u) => ({
      userId: u.key,
      properties: { country: u.country, plan: u.plan, email: u.email, appVersion: u.appVersion },
    }));
  }

  private one(client: UnleashClient, key: string, context: Context, rules: boolean): unknown {
    if (!rules) return client.isEnabled(key, context, () => false);
    const v = client.getVariant(key, context);
    return v.name === 'disabled' ? 'control' : v.name;
  }

  evaluate(flagKey: string, index: number): unknown {
    return this.one(this.single, flagKey, this.contexts[index]!, flagKey === 'w3');
  }

  evaluateAll(index: number): unknown {
    const context = this.contexts[index]!;
    let n = 0;
    for (let i = 0; i < this.keys.length; i++) {
      this.one(this.bulk, this.keys[i]!, context, i % 3 === 2);
      n++;
    }
    return n;
  }

  async close(): Promise<void> {}
}
