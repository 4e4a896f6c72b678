import { FlagdCore } from '@openfeature/flagd-core';
import { W3_COUNTRIES, type BenchFlag, type BenchUser, type EngineAdapter } from '../workload.model';

/** A bench flag as a flagd flag (also the content of bench/sdk's flag configuration file). */
export function flagdFlag(flag: BenchFlag): Record<string, unknown> {
  switch (flag.shape) {
    case 'static':
      return { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' };
    case 'half':
      return {
        state: 'ENABLED',
        variants: { on: true, off: false },
        defaultVariant: 'off',
        targeting: { fractional: [['on', 50], ['off', 50]] },
      };
    case 'rules':
      return {
        state: 'ENABLED',
        variants: { enterprise: 'enterprise', example: 'example', modern: 'modern', rollout: 'rollout', control: 'control' },
        defaultVariant: 'control',
        targeting: {
          if: [
            { and: [{ in: [{ var: 'country' }, W3_COUNTRIES] }, { '==': [{ var: 'plan' }, 'enterprise'] }] },
            'enterprise',
            { ends_with: [{ var: 'email' }, '@example.com'] },
            'example',
            { sem_ver: [{ var: 'appVersion' }, '>=', '2.3.0'] },
            'modern',
            { fractional: [['rollout', 10], ['control', 90]] },
          ],
        },
      };
  }
}

function configuration(flags: BenchFlag[]): string {
  return JSON.stringify({ flags: Object.fromEntries(flags.map((f) => [f.key, flagdFlag(f)])) });
}

type Context = { targetingKey: string; country: string; plan: string; email: string; appVersion: string };

const SILENT = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

export class FlagdEngine implements EngineAdapter {
  readonly name = '@openfeature/flagd-core';
  readonly version: string;
  readonly async = false;
  private readonly single = new FlagdCore(undefined, SILENT);
  private readonly bulk = new FlagdCore(undefined, SILENT);
  private contexts: Context[] = [];

  constructor(version: string) {
    this.version = version;
  }

  async setup(flags: BenchFlag[], users: BenchUser[]): Promise<void> {
    this.single.setConfigurations(
      configuration([
        { key: 'w1', shape: 'static' },
        { key: 'w2', shape: 'half' },
        { key: 'w3', shape: 'rules' },
      ]),
    );
    this.bulk.setConfigurations(configuration(flags));
    this.contexts = users.map((u) => ({ targetingKey: u.key, country: u.country, plan: u.plan, email: u.email, appVersion: u.appVersion }));
  }

  evaluate(flagKey: string, index: number): unknown {
    return flagKey === 'w3'
      ? this.single.resolveStringEvaluation(flagKey, 'default', this.contexts[index], SILENT).value
      : this.single.resolveBooleanEvaluation(flagKey, false, this.contexts[index], SILENT).value;
  }

  evaluateAll(index: number): unknown {
    return this.bulk.resolveAll(this.contexts[index], SILENT).length;
  }

  async close(): Promise<void> {}
}
