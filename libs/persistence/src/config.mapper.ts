import { environmentChain, type ConfigDefinition, type EnvironmentNode, type StoredLayer } from '@flagstream/config';
import type { ConfigItemEntity, ConfigLayerEntity, EnvironmentEntity } from './entities';

/** Environments as inheritance nodes, by key. */
export function environmentNodes(envs: readonly EnvironmentEntity[]): EnvironmentNode[] {
  const keyById = new Map(envs.map((e) => [e.id, e.key]));
  return envs.map((e) => ({ key: e.key, parent: e.parentId ? (keyById.get(e.parentId) ?? `#${e.parentId}`) : null }));
}

/** The chain of an environment; a broken chain (never stored: writes check it) degrades to itself. */
export function chainOf(environment: string, nodes: readonly EnvironmentNode[]): string[] {
  try {
    return environmentChain(environment, nodes);
  } catch {
    return [environment];
  }
}

/** A stored layer row as libs/config sees it (environments by key). */
export function storedLayer(l: ConfigLayerEntity, envKeyById: ReadonlyMap<string, string>): StoredLayer {
  const out: StoredLayer = { scope: l.scope, value: l.value, version: l.version };
  if (l.environmentId !== null) out.environment = envKeyById.get(l.environmentId) ?? `#${l.environmentId}`;
  if (l.tenant !== null) out.tenant = l.tenant;
  if (l.ruleId !== null) out.ruleId = l.ruleId;
  if (l.clauses !== null) out.clauses = l.clauses;
  if (l.position !== null) out.order = l.position;
  return out;
}

export function configDefinition(item: ConfigItemEntity): ConfigDefinition | null {
  if (item.deleted) return null;
  return { description: item.description, schema: item.schema, merge: item.merge, clientVisible: item.clientVisible, tags: [...item.tags] };
}
