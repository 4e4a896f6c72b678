import type { ConfigItemSnapshotV1, ConfigLayerV1, ConfigMergeStrategy, SegmentDefinitionV1 } from '@flagstream/protocol';
import { sortLayers, type StoredLayer } from './config-history';
import { compileConfigItem, tenantOf } from './config.resolver';

/** What the snapshot of an item needs besides its layers. */
export interface SnapshotItem {
  key: string;
  version: number;
  merge: ConfigMergeStrategy;
  clientVisible: boolean;
}

/**
 * The item as SDKs of one environment receive it: the project default and the layers of the
 * environment's chain (root first), nothing from other environments.
 */
export function configSnapshotFor(item: SnapshotItem, layers: readonly StoredLayer[], chain: readonly string[], tenantAttribute: string): ConfigItemSnapshotV1 {
  // A stable order (scope, environment key, tenant, rule order), so every writer hashes alike.
  const inChain = sortLayers(layers.filter((l) => l.scope === 'default' || (l.environment !== undefined && chain.includes(l.environment))).map((l) => ({ ...l })));
  return {
    key: item.key,
    version: item.version,
    merge: item.merge,
    clientVisible: item.clientVisible,
    tenantAttribute,
    chain: [...chain],
    layers: inChain.map(toWireLayer),
  };
}

/** A stored layer as it travels (and as resolution takes it): absent fields left out. */
export function toWireLayer(l: StoredLayer): ConfigLayerV1 {
  const out: ConfigLayerV1 = { scope: l.scope, value: l.value, version: l.version };
  if (l.environment !== undefined) out.environment = l.environment;
  if (l.tenant !== undefined) out.tenant = l.tenant;
  if (l.ruleId !== undefined) out.ruleId = l.ruleId;
  if (l.clauses !== undefined) out.clauses = l.clauses;
  if (l.order !== undefined) out.order = l.order;
  return out;
}

/** How a config value was decided, in OpenFeature's reason vocabulary. */
export type ConfigReason = 'DEFAULT' | 'STATIC' | 'TARGETING_MATCH';

/** The effective value of a delivered item for one context. */
export interface ConfigEvaluation {
  key: string;
  found: boolean;
  value: unknown;
  /** DEFAULT: the project default; STATIC: an environment's value; TARGETING_MATCH: a tenant or targeted override. */
  reason: ConfigReason;
  /** The strongest layer that contributed. */
  source: Pick<ConfigLayerV1, 'scope' | 'environment' | 'tenant' | 'ruleId'> | null;
  /** The item's version. */
  version: number;
}

/** A delivered item compiled for repeated evaluation (gateway, SDK). */
export interface CompiledConfigSnapshot {
  readonly item: ConfigItemSnapshotV1;
  evaluate(context: Readonly<Record<string, unknown>>): ConfigEvaluation;
}

/**
 * Compiles a delivered item: the tenant comes from the context's attribute named by the item
 * (`tenantAttribute`), targeted layers match the context, the chain is the item's.
 */
export function compileConfigSnapshot(item: ConfigItemSnapshotV1, segments: readonly SegmentDefinitionV1[] = []): CompiledConfigSnapshot {
  const compiled = compileConfigItem({ merge: item.merge, layers: item.layers }, segments);
  return {
    item,
    evaluate(context) {
      const r = compiled.resolve({ chain: item.chain, tenant: tenantOf(context, item.tenantAttribute), context });
      const s = r.source;
      const reason: ConfigReason = !s || s.scope === 'default' ? 'DEFAULT' : s.scope === 'environment' ? 'STATIC' : 'TARGETING_MATCH';
      const source = s
        ? { scope: s.scope, ...(s.environment !== undefined ? { environment: s.environment } : {}), ...(s.tenant !== undefined ? { tenant: s.tenant } : {}), ...(s.ruleId !== undefined ? { ruleId: s.ruleId } : {}) }
        : null;
      return { key: item.key, found: r.found, value: r.value, reason, source, version: item.version };
    },
  };
}
