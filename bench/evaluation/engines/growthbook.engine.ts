import { GrowthBookClient } from '@growthbook/growthbook';
import { W3_COUNTRIES, type BenchFlag, type BenchUser, type EngineAdapter } from '../workload.model';

/** A bench flag as a GrowthBook feature (also the content of bench/sdk's payload file). */
export function growthbookFeature(flag: BenchFlag): Record<string, unknown> {
  switch (flag.shape) {
    case 'static':
      return { defaultValue: true };
    case 'half':
      return { defaultValue: false, rules: [{ force: true, coverage: 0.5, hashAttribute: 'id' }] };
    case 'rules':
      return {
        defaultValue: 'control',
        rules: [
          { condition: { country: { $in: W3_COUNTRIES }, plan: 'enterprise' }, force: 'enterprise' },
          // GrowthBook has no endsWith operator; an anchored regular expression is the same test.
          { condition: { email: { $regex: '@example\\.com$' } }, force: 'example' },
          { condition: { appVersion: { $vgte: '2.3.0' } }, force: 'modern' },
          { force: 'rollout', coverage: 0.1, hashAttribute: 'id' },
        ],
      };
  }
}

type UserContext = { attributes: Record<string, string> };

export class GrowthBookEngine implements EngineAdapter {
  readonly name = '@growthbook/growthbook';
  readonly version: string;
  readonly async = false;
  private readonly single = new GrowthBookClient();
  private readonly bulk = new GrowthBookClient();
  private keys: string[] = [];
  private contexts: UserContext[] = [];

  constructor(version: string) {
    this.version = version;
  }

  async setup(flags: BenchFlag[], users: BenchUser[]): Promise<void> {
    const features = (list: BenchFlag[]) => Object.fromEntries(list.map((f) => [f.key, growthbookFeature(f)]));
    this.single.initSync({
      payload: {
        features: features([
          { key: 'w1', shape: 'static' },
          { key: 'w2', shape: 'half' },
          { key: 'w3', shape: 'rules' },
        ]),
      },
    });
    this.bulk.initSync({ payload: { features: features(flags) } });
    this.keys = flags.map((f) => f.key);
    this.contexts = users.map((u) => ({ attributes: { id: u.key, country: u.country, plan: u.plan, email: u.email, appVersion: u.appVersion } }));
  }

  evaluate(flagKey: string, index: number): unknown {
    return this.single.evalFeature(flagKey, this.contexts[index]!).value;
  }

  evaluateAll(index: number): unknown {
    const context = this.contexts[index]!;
    let n = 0;
    for (const key of this.keys) {
      if (this.bulk.evalFeature(key, context).source !== 'unknownFeature') n++;
    }
    return n;
  }

  async close(): Promise<void> {
    this.single.destroy();
    this.bulk.destroy();
  }
}
