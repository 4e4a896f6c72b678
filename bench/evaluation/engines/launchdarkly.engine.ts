import { init, integrations, type LDClient, type LDContext } from '@launchdarkly/node-server-sdk';
import { W3_COUNTRIES, W3_VARIATIONS, type BenchFlag, type BenchUser, type EngineAdapter } from '../workload.model';

/** A bench flag as a LaunchDarkly flag (also the content of bench/sdk's file data source). */
export function launchDarklyFlag(flag: BenchFlag): Record<string, unknown> {
  const base = { key: flag.key, version: 1, on: true, targets: [], contextTargets: [], prerequisites: [], salt: flag.key, trackEvents: false };
  switch (flag.shape) {
    case 'static':
      return { ...base, variations: [true, false], offVariation: 1, fallthrough: { variation: 0 }, rules: [] };
    case 'half':
      return {
        ...base,
        variations: [true, false],
        offVariation: 1,
        fallthrough: { rollout: { variations: [{ variation: 0, weight: 50_000 }, { variation: 1, weight: 50_000 }] } },
        rules: [],
      };
    case 'rules': {
      const clause = (attribute: string, op: string, values: unknown[]) => ({ attribute, op, values, negate: false, contextKind: 'user' });
      return {
        ...base,
        variations: [...W3_VARIATIONS],
        offVariation: 4,
        fallthrough: { rollout: { variations: [{ variation: 3, weight: 10_000 }, { variation: 4, weight: 90_000 }] } },
        rules: [
          { id: 'enterprise', variation: 0, clauses: [clause('country', 'in', W3_COUNTRIES), clause('plan', 'in', ['enterprise'])] },
          { id: 'example', variation: 1, clauses: [clause('email', 'endsWith', ['@example.com'])] },
          // LaunchDarkly has no "semver >=": greater-than and equal-to are two rules.
          { id: 'modern-gt', variation: 2, clauses: [clause('appVersion', 'semVerGreaterThan', ['2.3.0'])] },
          { id: 'modern-eq', variation: 2, clauses: [clause('appVersion', 'semVerEqual', ['2.3.0'])] },
        ],
      };
    }
  }
}

const SILENT = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

async function client(flags: BenchFlag[]): Promise<LDClient> {
  const td = new integrations.TestData();
  for (const flag of flags) await td.usePreconfiguredFlag(launchDarklyFlag(flag));
  const ld = init('sdk-bench-offline', { updateProcessor: td.getFactory(), sendEvents: false, diagnosticOptOut: true, logger: SILENT });
  await ld.waitForInitialization({ timeout: 10 });
  return ld;
}

export class LaunchDarklyEngine implements EngineAdapter {
  readonly name = '@launchdarkly/node-server-sdk';
  readonly version: string;
  readonly async = true;
  private single!: LDClient;
  private bulk!: LDClient;
  private contexts: LDContext[] = [];

  constructor(version: string) {
    this.version = version;
  }

  async setup(flags: BenchFlag[], users: BenchUser[]): Promise<void> {
    this.single = await client([
      { key: 'w1', shape: 'static' },
      { key: 'w2', shape: 'half' },
      { key: 'w3', shape: 'rules' },
    ]);
    this.bulk = await client(flags);
    this.contexts = users.map((u) => ({ kind: 'user', key: u.key, country: u.country, plan: u.plan, email: u.email, appVersion: u.appVersion }));
  }

  evaluate(flagKey: string, index: number): Promise<unknown> {
    return this.single.variation(flagKey, this.contexts[index]!, flagKey === 'w3' ? 'default' : false);
  }

  async evaluateAll(index: number): Promise<unknown> {
    const state = await this.bulk.allFlagsState(this.contexts[index]!, { clientSideOnly: false });
    return Object.keys(state.allValues()).length;
  }

  async close(): Promise<void> {
    this.single.close();
    this.bulk.close();
  }
}
