import type { ConfigLayerV1, ConfigMergeStrategy, SegmentDefinitionV1 } from '@flagstream/protocol';
import { compileConditions, type CompiledConditions } from '@flagstream/targeting';
import { applyMergePatch, isJsonObject } from './merge-patch';

/** What a resolution needs of an item: how it merges and its layers. */
export interface ResolvableItem {
  merge: ConfigMergeStrategy;
  layers: readonly ConfigLayerV1[];
}

/** Whom to resolve for: the environment chain (root first), a tenant, a context for targeted layers. */
export interface ResolutionTarget {
  chain: readonly string[];
  /** The tenant; `null` or absent for the environment's own value. */
  tenant?: string | null;
  /** Context for targeted layers; none apply without one. */
  context?: Readonly<Record<string, unknown>>;
}

/** A weaker value hidden by a stronger layer: the whole value (`path` "") or one JSON path of it. */
export interface ShadowedValue {
  layer: ConfigLayerV1;
  /** JSON Pointer (RFC 6901) of the hidden part; "" for the whole value. */
  path: string;
  by: ConfigLayerV1;
}

/** The effective value of an item for a target and how it came about. */
export interface ConfigResolution {
  /** False when no layer applies (the item has no value here); `value` is then undefined. */
  found: boolean;
  value: unknown;
  /** The strongest layer that contributed, or null. */
  source: ConfigLayerV1 | null;
  /** The layers whose values make up the result, weakest first (`replace`: only the source). */
  applied: ConfigLayerV1[];
  /** What stronger layers hide of weaker ones. */
  shadowed: ShadowedValue[];
}

/** Decides whether a targeted layer applies to a context. */
export type TargetedMatcher = (layer: ConfigLayerV1, context: Readonly<Record<string, unknown>>) => boolean;

const NO_MATCH: TargetedMatcher = () => false;

/**
 * The layers that apply to a target, weakest first (docs/configuration.md):
 * 1. the project default;
 * 2. each environment of the chain, root first;
 * 3. the tenant's overrides at each environment of the chain, root first;
 * 4. per environment of the chain, root first, the first targeted layer (by `order`) whose clauses
 *    hold for the context.
 * Layers of environments outside the chain are ignored.
 */
export function applicableLayers(layers: readonly ConfigLayerV1[], target: ResolutionTarget, matches: TargetedMatcher = NO_MATCH): ConfigLayerV1[] {
  const position = new Map(target.chain.map((env, i) => [env, i]));
  const at = (l: ConfigLayerV1): number => (l.environment === undefined ? -1 : (position.get(l.environment) ?? -1));
  const byChain = (a: ConfigLayerV1, b: ConfigLayerV1): number => at(a) - at(b);
  const out: ConfigLayerV1[] = layers.filter((l) => l.scope === 'default');
  out.push(...layers.filter((l) => l.scope === 'environment' && at(l) >= 0).sort(byChain));
  const tenant = target.tenant;
  if (tenant !== undefined && tenant !== null) out.push(...layers.filter((l) => l.scope === 'tenant' && l.tenant === tenant && at(l) >= 0).sort(byChain));
  const context = target.context;
  if (context) {
    for (const env of target.chain) {
      const rules = layers.filter((l) => l.scope === 'targeted' && l.environment === env).sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
      const hit = rules.find((l) => matches(l, context));
      if (hit) out.push(hit);
    }
  }
  return out;
}

/** Folds applicable layers (weakest first) into a resolution. */
export function combineLayers(merge: ConfigMergeStrategy, applicable: readonly ConfigLayerV1[]): ConfigResolution {
  if (applicable.length === 0) return { found: false, value: undefined, source: null, applied: [], shadowed: [] };
  const source = applicable[applicable.length - 1]!;
  if (merge === 'replace') {
    return {
      found: true,
      value: source.value,
      source,
      applied: [source],
      shadowed: applicable.slice(0, -1).reverse().map((layer) => ({ layer, path: '', by: source })),
    };
  }
  let value: unknown = undefined;
  // Which layer supplied each leaf path so far, to report what stronger layers hide.
  let owners = new Map<string, ConfigLayerV1>();
  const shadowed: ShadowedValue[] = [];
  for (const layer of applicable) {
    const next = new Map<string, ConfigLayerV1>();
    if (!isJsonObject(layer.value)) {
      for (const [path, owner] of owners) shadowed.push({ layer: owner, path, by: layer });
      owners = next;
      owners.set('', layer);
    } else {
      const touched = patchedPaths(layer.value);
      for (const [path, owner] of owners) {
        // Hidden when the patch sets this path or a parent of it, or goes below a weaker leaf
        // (a scalar becomes an object), or the weaker value was not an object at all.
        const hidden = path === '' || touched.some((t) => path === t || path.startsWith(`${t}/`) || t.startsWith(`${path}/`));
        if (hidden) shadowed.push({ layer: owner, path, by: layer });
        else next.set(path, owner);
      }
      for (const t of touched) next.set(t, layer);
      owners = next;
    }
    value = applyMergePatch(value, layer.value);
  }
  return { found: true, value, source, applied: [...applicable], shadowed: shadowed.reverse() };
}

/** JSON Pointers of what a merge patch sets or removes at its leaves (objects are descended). */
function patchedPaths(patch: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const path = `${prefix}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (isJsonObject(value) && Object.keys(value).length > 0) out.push(...patchedPaths(value, path));
    else out.push(path);
  }
  return out;
}

/** Resolves an item for a target in one call (compiles targeted layers each time: see `compileConfigItem`). */
export function resolveConfig(item: ResolvableItem, target: ResolutionTarget, segments: readonly SegmentDefinitionV1[] = []): ConfigResolution {
  return compileConfigItem(item, segments).resolve(target);
}

/** An item with its targeted layers compiled once, for repeated resolution (SDK, gateway). */
export interface CompiledConfigItem {
  resolve(target: ResolutionTarget): ConfigResolution;
}

/**
 * Compiles the clauses of an item's targeted layers once. A targeted layer whose clauses do not
 * compile (unknown segment...) never applies: writes validate clauses, so this only protects
 * readers from a bad stream.
 */
export function compileConfigItem(item: ResolvableItem, segments: readonly SegmentDefinitionV1[] = []): CompiledConfigItem {
  const compiled = new Map<ConfigLayerV1, CompiledConditions | null>();
  for (const layer of item.layers) {
    if (layer.scope !== 'targeted') continue;
    try {
      compiled.set(layer, compileConditions(layer.clauses ?? [], segments));
    } catch {
      compiled.set(layer, null);
    }
  }
  const matches: TargetedMatcher = (layer, context) => compiled.get(layer)?.test(context) ?? false;
  return {
    resolve: (target) => combineLayers(item.merge, applicableLayers(item.layers, target, matches)),
  };
}

/** The tenant named by a context: the value of `tenantAttribute` when it is a string or a finite number. */
export function tenantOf(context: Readonly<Record<string, unknown>> | undefined, tenantAttribute: string): string | null {
  const v = context?.[tenantAttribute];
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}
