import type { ConfigItemState, StoredLayer } from '@flagstream/config';
import type { ClauseV1 } from '@flagstream/protocol';
import type { ConfigItemEntity } from '@flagstream/persistence';

export interface EnvironmentLayersView {
  value?: unknown;
  tenants: Record<string, unknown>;
  rules: Array<{ id: string; clauses: ClauseV1[]; value: unknown }>;
}

/** The API view of an item: its definition and its layers grouped by environment. */
export function configView(key: string, state: ConfigItemState, item?: ConfigItemEntity) {
  const def = state.definition;
  const environments: Record<string, EnvironmentLayersView> = {};
  const at = (env: string) => (environments[env] ??= { tenants: {}, rules: [] });
  let defaultValue: unknown = undefined;
  for (const l of state.layers) {
    if (l.scope === 'default') defaultValue = l.value;
    else if (l.scope === 'environment') at(l.environment!).value = l.value;
    else if (l.scope === 'tenant') at(l.environment!).tenants[l.tenant!] = l.value;
    else at(l.environment!).rules.push({ id: l.ruleId!, clauses: l.clauses ?? [], value: l.value });
  }
  for (const env of Object.values(environments)) env.rules.sort((a, b) => order(state.layers, a.id) - order(state.layers, b.id));
  return {
    key,
    description: def?.description ?? '',
    schema: def?.schema,
    merge: def?.merge,
    clientVisible: def?.clientVisible,
    tags: def?.tags,
    deleted: def === null,
    version: state.version,
    default: defaultValue,
    environments,
    ...(item ? { createdAt: item.createdAt.toISOString(), updatedAt: item.updatedAt.toISOString() } : {}),
  };
}

function order(layers: readonly StoredLayer[], ruleId: string): number {
  return layers.find((l) => l.ruleId === ruleId)?.order ?? 0;
}
