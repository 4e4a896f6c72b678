import { Injectable } from '@nestjs/common';
import { compileConfigItem, tenantOf, toWireLayer, type ShadowedValue } from '@flagstream/config';
import { NotFoundError } from '@flagstream/errors';
import type { ConfigLayerV1 } from '@flagstream/protocol';
import { chainOf, type ConfigItemEntity, type ConfigVersionEntity, type Repositories } from '@flagstream/persistence';
import { decodeContextParam } from './context.param';
import type { ExplainQuery } from './config.dto';
import { ConfigService } from './config.service';

interface LayerStory {
  scope: ConfigLayerV1['scope'];
  environment?: string;
  tenant?: string;
  ruleId?: string;
  value: unknown;
  version: number;
  author: string | null;
  at: string | null;
  reason: string | null;
}

/** Answers "where does this value come from?" for one item, environment, tenant and context. */
@Injectable()
export class ConfigExplainer {
  constructor(private readonly configs: ConfigService) {}

  async explain(projectKey: string, key: string, q: ExplainQuery) {
    const r = this.configs.read;
    const scope = await this.configs.scope(r, projectKey);
    const item = await r.configs.findItem(scope.project.id, key);
    if (!item || item.deleted) throw new NotFoundError(`config item "${key}" does not exist in project "${scope.project.key}"`);
    if (!scope.byKey.has(q.environment)) throw new NotFoundError(`environment "${q.environment}" does not exist in project "${scope.project.key}"`);
    const context = decodeContextParam(q.context);
    const tenant = q.tenant ?? tenantOf(context, scope.project.tenantAttribute);
    const state = await this.configs.stateOf(r, scope, item);
    const chain = chainOf(q.environment, scope.nodes);
    const segments = (await r.segments.listAll(scope.project.id)).map((s) => ({ key: s.key, included: s.included, excluded: s.excluded, rules: s.rules }));
    const layers = state.layers.map(toWireLayer);
    const resolution = compileConfigItem({ merge: state.definition!.merge, layers }, segments).resolve({ chain, tenant, context });
    const versions = await this.versions(r, item, [...resolution.applied, ...resolution.shadowed.map((s) => s.layer)]);
    const story = (l: ConfigLayerV1): LayerStory => {
      const v = versions.get(l.version);
      return {
        scope: l.scope,
        ...(l.environment !== undefined ? { environment: l.environment } : {}),
        ...(l.tenant !== undefined ? { tenant: l.tenant } : {}),
        ...(l.ruleId !== undefined ? { ruleId: l.ruleId } : {}),
        value: l.value,
        version: l.version,
        author: v?.author ?? null,
        at: v?.createdAt.toISOString() ?? null,
        reason: v?.reason ?? null,
      };
    };
    const source = resolution.source ? story(resolution.source) : null;
    return {
      key,
      environment: q.environment,
      chain,
      tenant,
      merge: state.definition!.merge,
      found: resolution.found,
      value: resolution.value,
      source,
      applied: resolution.applied.map(story),
      shadowed: resolution.shadowed.map((s: ShadowedValue) => ({ path: s.path, layer: story(s.layer), by: where(s.by) })),
      summary: source ? `${where(source)} supplies the value (version ${source.version}${source.author ? ` by ${source.author}` : ''}${source.at ? ` at ${source.at}` : ''})${resolution.shadowed.length ? `; it shadows ${resolution.shadowed.length} weaker value${resolution.shadowed.length === 1 ? '' : 's'}` : ''}` : 'no layer applies: the item has no value here',
    };
  }

  private async versions(r: Repositories, item: ConfigItemEntity, layers: ConfigLayerV1[]): Promise<Map<number, ConfigVersionEntity>> {
    const out = new Map<number, ConfigVersionEntity>();
    for (const v of new Set(layers.map((l) => l.version))) {
      const row = await r.configs.findVersion(item.id, v);
      if (row) out.set(v, row);
    }
    return out;
  }
}

/** Human words for a layer's place. */
function where(l: Pick<ConfigLayerV1, 'scope' | 'environment' | 'tenant' | 'ruleId'>): string {
  switch (l.scope) {
    case 'default':
      return 'the project default';
    case 'environment':
      return `environment "${l.environment}"`;
    case 'tenant':
      return `tenant "${l.tenant}" at environment "${l.environment}"`;
    case 'targeted':
      return `targeted rule "${l.ruleId}" at environment "${l.environment}"`;
  }
}
