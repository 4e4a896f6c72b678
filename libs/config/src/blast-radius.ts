import type { ConfigLayerV1, ConfigMergeStrategy, ValidationProblem } from '@flagstream/protocol';
import { environmentChain, type EnvironmentNode } from './environment-chain';
import { applicableLayers, combineLayers } from './config.resolver';

/** An effective value that a write would make invalid. */
export interface BrokenValue {
  environment: string;
  /** The tenant, or null for the environment's own value. */
  tenant: string | null;
  /** The targeted layers (rule ids) in effect, when the broken value only arises under them. */
  rules?: string[];
  /** Path inside the value, in accessor form ("" = the value itself). */
  path: string;
  message: string;
}

export interface BlastRadiusInput {
  merge: ConfigMergeStrategy;
  /** Every layer of the item, as it would be after the write. */
  layers: readonly ConfigLayerV1[];
  environments: readonly EnvironmentNode[];
  /** Only environments whose chain contains one of these are re-resolved; all when absent. */
  touched?: readonly string[];
  check(value: unknown): ValidationProblem[];
  /** Combinations of targeted layers tried per (environment, tenant) before giving up. Default 256. */
  maxCombinations?: number;
}

/** The outcome: broken values, or a refusal because the combinations are too many to check. */
export interface BlastRadiusResult {
  /** Every (environment, tenant) pair that was re-resolved. */
  checked: number;
  broken: BrokenValue[];
  tooManyCombinations?: { environment: string; combinations: number };
}

/**
 * Re-resolves every (environment, tenant) pair a write can change and validates each effective
 * value. The tenants of an environment are those with an override somewhere in its chain (any
 * other tenant sees the environment's own value). Targeted layers apply only to some contexts, so
 * every way they can combine is checked: per environment of the chain, none or one of its rules
 * (with `replace`, only the strongest matters, which this covers too). Pairs with no value at all
 * are skipped: an item always has a project default, so that only happens while creating one.
 */
export function findBrokenValues(input: BlastRadiusInput): BlastRadiusResult {
  const max = input.maxCombinations ?? 256;
  const broken: BrokenValue[] = [];
  let checked = 0;
  for (const env of input.environments) {
    const chain = environmentChain(env.key, input.environments);
    if (input.touched && !chain.some((e) => input.touched!.includes(e)) && !input.touched.includes('*')) continue;
    const inChain = input.layers.filter((l) => l.environment === undefined || chain.includes(l.environment));
    const tenants = [null, ...new Set(inChain.flatMap((l) => (l.scope === 'tenant' && l.tenant !== undefined ? [l.tenant] : [])))].sort(byTenant);
    // Per environment of the chain: the targeted layers one may hit (or none).
    const options = chain.map((e) => [null, ...inChain.filter((l) => l.scope === 'targeted' && l.environment === e)]);
    const combinations = options.reduce((n, o) => n * o.length, 1);
    if (combinations > max) return { checked, broken, tooManyCombinations: { environment: env.key, combinations } };
    for (const tenant of tenants) {
      checked++;
      const base = applicableLayers(inChain, { chain, tenant });
      const seen = new Set<string>();
      for (const combo of product(options)) {
        const targeted = combo.filter((l): l is ConfigLayerV1 => l !== null);
        const result = combineLayers(input.merge, [...base, ...targeted]);
        if (!result.found) continue;
        for (const p of input.check(result.value)) {
          const rules = targeted.map((l) => l.ruleId ?? '?');
          const id = `${rules.join(',')}|${p.path}|${p.message}`;
          if (seen.has(id)) continue;
          seen.add(id);
          broken.push({ environment: env.key, tenant, ...(rules.length ? { rules } : {}), path: p.path, message: p.message });
        }
      }
    }
  }
  return { checked, broken };
}

function byTenant(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function* product<T>(lists: readonly (readonly T[])[]): Generator<T[]> {
  if (lists.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = lists;
  for (const tail of product(rest)) for (const x of first!) yield [x, ...tail];
}
