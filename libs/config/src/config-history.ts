import type { ClauseV1, ConfigLayerScope, ConfigMergeStrategy } from '@flagstream/protocol';

/** What identifies a layer of an item: its place in the hierarchy. */
export interface LayerAddress {
  scope: ConfigLayerScope;
  environment?: string;
  tenant?: string;
  ruleId?: string;
}

/** What a layer holds at its address. */
export interface LayerContent {
  value: unknown;
  /** Targeted layers only. */
  clauses?: ClauseV1[];
  order?: number;
}

/** The definition of an item (everything but its layers). */
export interface ConfigDefinition {
  description: string;
  schema: unknown;
  merge: ConfigMergeStrategy;
  clientVisible: boolean;
  tags: string[];
}

/** One layer as stored: address, content, and the item version that last wrote it. */
export interface StoredLayer extends LayerAddress, LayerContent {
  version: number;
}

/** An item at one version. `definition` is null before creation and after deletion. */
export interface ConfigItemState {
  version: number;
  definition: ConfigDefinition | null;
  layers: StoredLayer[];
}

/** One change of a version: the definition, or one layer (null content = absent). */
export type ConfigChange =
  | { kind: 'definition'; before: ConfigDefinition | null; after: ConfigDefinition | null }
  | { kind: 'layer'; address: LayerAddress; before: LayerContent | null; after: LayerContent | null };

/** A stored version of an item: immutable once written. */
export interface ConfigVersionRecord {
  version: number;
  changes: ConfigChange[];
}

export const EMPTY_ITEM_STATE: ConfigItemState = { version: 0, definition: null, layers: [] };

/** A stable text key for a layer address (for maps and uniqueness). */
export function addressKey(a: LayerAddress): string {
  return JSON.stringify([a.scope, a.environment ?? null, a.tenant ?? null, a.ruleId ?? null]);
}

function addressOf(l: LayerAddress): LayerAddress {
  const a: LayerAddress = { scope: l.scope };
  if (l.environment !== undefined) a.environment = l.environment;
  if (l.tenant !== undefined) a.tenant = l.tenant;
  if (l.ruleId !== undefined) a.ruleId = l.ruleId;
  return a;
}

function contentOf(l: LayerContent): LayerContent {
  const c: LayerContent = { value: l.value };
  if (l.clauses !== undefined) c.clauses = l.clauses;
  if (l.order !== undefined) c.order = l.order;
  return c;
}

/** Applies one version's changes to a state, giving the state at that version. */
export function applyVersion(state: ConfigItemState, record: ConfigVersionRecord): ConfigItemState {
  let definition = state.definition;
  const layers = new Map(state.layers.map((l) => [addressKey(l), l]));
  for (const change of record.changes) {
    if (change.kind === 'definition') {
      definition = change.after;
    } else {
      const key = addressKey(change.address);
      if (change.after === null) layers.delete(key);
      else layers.set(key, { ...addressOf(change.address), ...contentOf(change.after), version: record.version });
    }
  }
  return { version: record.version, definition, layers: sortLayers([...layers.values()]) };
}

/** The state after a sequence of versions (in version order), from nothing. */
export function replayVersions(records: Iterable<ConfigVersionRecord>): ConfigItemState {
  let state = EMPTY_ITEM_STATE;
  for (const r of records) state = applyVersion(state, r);
  return state;
}

/** The changes that turn state `from` into state `to` (definition first, then layers in a stable order). */
export function diffStates(from: Pick<ConfigItemState, 'definition' | 'layers'>, to: Pick<ConfigItemState, 'definition' | 'layers'>): ConfigChange[] {
  const changes: ConfigChange[] = [];
  if (!sameJson(from.definition, to.definition)) changes.push({ kind: 'definition', before: from.definition, after: to.definition });
  const before = new Map(from.layers.map((l) => [addressKey(l), l]));
  const after = new Map(to.layers.map((l) => [addressKey(l), l]));
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const key of keys) {
    const b = before.get(key);
    const a = after.get(key);
    const bc = b ? contentOf(b) : null;
    const ac = a ? contentOf(a) : null;
    if (sameJson(bc, ac)) continue;
    changes.push({ kind: 'layer', address: addressOf((a ?? b)!), before: bc, after: ac });
  }
  return changes;
}

const SCOPE_ORDER: Record<ConfigLayerScope, number> = { default: 0, environment: 1, tenant: 2, targeted: 3 };

/** Layers in a stable order: scope, environment, tenant, rule order. */
export function sortLayers<T extends StoredLayer>(layers: T[]): T[] {
  return layers.sort(
    (a, b) =>
      SCOPE_ORDER[a.scope] - SCOPE_ORDER[b.scope] ||
      cmp(a.environment ?? '', b.environment ?? '') ||
      cmp(a.tenant ?? '', b.tenant ?? '') ||
      (a.order ?? 0) - (b.order ?? 0) ||
      cmp(a.ruleId ?? '', b.ruleId ?? ''),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Structural equality of JSON values, ignoring object key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameJson(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && sameJson(ao[k], bo[k]));
}
