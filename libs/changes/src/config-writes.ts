import {
  addressKey,
  configSnapshotFor,
  diffStates,
  EMPTY_ITEM_STATE,
  findBrokenValues,
  replayVersions,
  sameJson,
  secretReferenceProblems,
  secretReferences,
  sortLayers,
  toWireLayer,
  withReferencePlaceholders,
  type ConfigChange,
  type ConfigDefinition,
  type ConfigItemState,
  type ConfigVersionRecord,
  type EnvironmentNode,
  type LayerAddress,
  type StoredLayer,
} from '@flagstream/config';
import { compileConfigSchema, CONFIG_LIMITS, schemaProblems } from './config-schema.compiler';
import { ForbiddenError, NotFoundError, ValidationError, VersionConflictError, WouldBreakValuesError, type ErrorDetail } from '@flagstream/errors';
import type { ChangeV1, ConfigItemSnapshotV1 } from '@flagstream/protocol';
import { validateConditions } from '@flagstream/targeting';
import {
  chainOf,
  configDefinition,
  environmentNodes,
  storedLayer,
  type ConfigItemEntity,
  type EnvironmentEntity,
  type LayerWrite,
  type ProjectEntity,
  type Repositories,
  type Store,
} from '@flagstream/persistence';
import type { ChangeOutcome, EnvironmentChanges } from './change-writer';
import { configView } from './config.view';
import { mustProject } from './lookup';
import { actorOf, ROLE_RANK, type WriteContext } from './write-context';

/** The API view of a config item (`configView`). */
export type ConfigItemView = ReturnType<typeof configView>;

/** A project with its environments, as every config operation needs them. */
export interface ProjectConfigScope {
  project: ProjectEntity;
  environments: EnvironmentEntity[];
  nodes: EnvironmentNode[];
  keyById: Map<string, string>;
  byKey: Map<string, EnvironmentEntity>;
}

/** How an item should look after a write, and how to name its layers in error paths. */
export interface ProposedItem {
  definition: ConfigDefinition | null;
  layers: StoredLayer[];
}

export interface CommitOptions {
  action: string;
  /** Optimistic concurrency: the item version the caller saw. */
  expected?: number;
  /** Body path of a layer, for errors about the layer the request wrote (e.g. `value`). */
  pathOf?: (address: LayerAddress) => string | undefined;
}

/** The result of committing one item. */
export interface ItemCommit {
  item: ConfigItemEntity;
  state: ConfigItemState;
  changed: boolean;
  environments: EnvironmentChanges[];
  changes: ConfigChange[];
}

export class ConfigWrites {
  constructor(private readonly store: Store) {}

  async scope(r: Repositories, projectKey: string): Promise<ProjectConfigScope> {
    const project = await mustProject(r, projectKey);
    const environments = await r.environments.listAll(project.id);
    return {
      project,
      environments,
      nodes: environmentNodes(environments),
      keyById: new Map(environments.map((e) => [e.id, e.key])),
      byKey: new Map(environments.map((e) => [e.key, e])),
    };
  }

  /** The current state of an item (its definition null when deleted). */
  async stateOf(r: Repositories, scope: ProjectConfigScope, item: ConfigItemEntity): Promise<ConfigItemState> {
    const layers = (await r.configs.layersOf([item.id])).map((l) => storedLayer(l, scope.keyById));
    return { version: item.version, definition: configDefinition(item), layers: sortLayers(layers) };
  }

  /** The state of an item at a version or a time, rebuilt from its history. */
  async stateAt(r: Repositories, item: ConfigItemEntity, limit: { version?: number; at?: Date }): Promise<ConfigItemState> {
    const rows = await r.configs.versionsUpTo(item.id, limit);
    return replayVersions(rows.map((v): ConfigVersionRecord => ({ version: v.version, changes: v.changes as ConfigChange[] })));
  }

  /**
   * Validates and stores the proposed state of an item as one new version, and returns what the
   * change pipeline must stream. Refuses (nothing stored) an invalid schema, a layer value that
   * fails the schema, bad targeting clauses, or any effective value the change would break.
   */
  async commit(tx: Repositories, w: WriteContext, scope: ProjectConfigScope, key: string, item: ConfigItemEntity | null, proposed: ProposedItem, opts: CommitOptions): Promise<ItemCommit> {
    const current = item ? await this.stateOf(tx, scope, item) : EMPTY_ITEM_STATE;
    if (opts.expected !== undefined && item && item.version !== opts.expected) throw new VersionConflictError(opts.expected, item.version, `config item "${key}"`);
    const changes = diffStates(current, proposed);
    if (!changes.length && item) return { item, state: current, changed: false, environments: [], changes };

    if (proposed.definition) await this.validate(tx, scope, proposed, changes, opts);

    const version = (item?.version ?? 0) + 1;
    // Layers this version wrote carry its number, exactly as they will read back from the database.
    const written = new Set(changes.flatMap((c) => (c.kind === 'layer' ? [addressKey(c.address)] : [])));
    const stamped: ProposedItem = { definition: proposed.definition, layers: proposed.layers.map((l) => (written.has(addressKey(l)) ? { ...l, version } : l)) };
    const affected = this.streamChanges(scope, key, current, { ...stamped, version }, version);
    // A new item changes nothing anyone reads yet; every later change that alters what a protected
    // environment resolves needs an owner.
    const protectedEnv = current.definition ? affected.map((a) => a.environment).find((e) => e.protected) : undefined;
    if (protectedEnv && ROLE_RANK[w.principal.role] < ROLE_RANK.owner) {
      throw new ForbiddenError(`environment "${protectedEnv.key}" is protected: this change alters its configuration, which needs the owner role`);
    }

    const def = proposed.definition;
    let saved: ConfigItemEntity;
    if (!item) {
      if (!def) throw new ValidationError(`config item "${key}" does not exist`);
      saved = await tx.configs.insertItem({ projectId: scope.project.id, key, ...def, deleted: false, version });
    } else {
      if (def) Object.assign(item, def, { deleted: false });
      else item.deleted = true;
      item.version = version;
      saved = await tx.configs.saveItem(item);
    }
    const writes: LayerWrite[] = changes.flatMap((c) =>
      c.kind === 'layer'
        ? [
            {
              address: {
                scope: c.address.scope,
                environmentId: c.address.environment === undefined ? null : scope.byKey.get(c.address.environment)!.id,
                tenant: c.address.tenant ?? null,
                ruleId: c.address.ruleId ?? null,
              },
              content: c.after ? { value: c.after.value, clauses: c.after.clauses ?? null, position: c.after.order ?? null } : null,
              version,
            },
          ]
        : [],
    );
    await tx.configs.writeLayers(saved.id, writes);
    await tx.configs.insertVersion({
      itemId: saved.id,
      version,
      action: opts.action,
      changes,
      author: actorOf(w.principal).name,
      reason: w.reason,
      requestId: w.requestId,
    });
    const state = { version, definition: def, layers: stamped.layers };
    return { item: saved, state, changed: true, environments: affected, changes };
  }

  /** Wraps one committed item as a change outcome for ChangeService.write. */
  outcome<T>(scope: ProjectConfigScope, key: string, commit: ItemCommit, result: T, action: string, before: unknown, after: unknown): ChangeOutcome<T> {
    if (!commit.changed) return { result, audit: null };
    return {
      result,
      project: scope.project.key,
      environments: commit.environments,
      audit: { action, target: { type: 'config', key }, project: scope.project.key, before, after },
    };
  }

  /**
   * Sets (`value` given) or removes (`value` undefined) one environment value or tenant override of
   * an item, inside the caller's transaction, as `PUT`/`DELETE …/configs/{key}/environments/{env}`
   * (`/tenants/{tenant}`) do. `missingOk`: removing a layer that is not there is a no-op instead
   * of a 404 (a scheduled removal whose layer was already removed).
   */
  async setLayerIn(
    tx: Repositories,
    w: WriteContext,
    projectKey: string,
    key: string,
    address: { environment: string; tenant?: string } | 'default',
    value: unknown,
    opts: { expected?: number; missingOk?: boolean } = {},
  ): Promise<ChangeOutcome<ConfigItemView>> {
    const scope = await this.scope(tx, projectKey);
    const item = await tx.configs.findItem(scope.project.id, key, true);
    if (!item || item.deleted) throw new NotFoundError(`config item "${key}" does not exist in project "${scope.project.key}"`);
    if (address !== 'default' && !scope.byKey.has(address.environment)) throw new NotFoundError(`environment "${address.environment}" does not exist in project "${scope.project.key}"`);
    const layer: LayerAddress =
      address === 'default'
        ? { scope: 'default' }
        : address.tenant === undefined
          ? { scope: 'environment', environment: address.environment }
          : { scope: 'tenant', environment: address.environment, tenant: address.tenant };
    const id = addressKey(layer);
    const state = await this.stateOf(tx, scope, item);
    const before = configView(key, state, item);
    const others = state.layers.filter((l) => addressKey(l) !== id);
    if (value === undefined && others.length === state.layers.length) {
      if (opts.missingOk) return { result: before, audit: null };
      throw new NotFoundError(`config item "${key}" has no such value to remove`);
    }
    const action = value === undefined ? 'value.removed' : 'value.set';
    const proposed: ProposedItem = { definition: state.definition, layers: value === undefined ? others : [...others, { ...layer, value, version: 0 }] };
    const commit = await this.commit(tx, w, scope, key, item, proposed, { action, expected: opts.expected, pathOf: (a) => (addressKey(a) === id ? 'value' : undefined) });
    const after = configView(key, commit.state, commit.item);
    return this.outcome(scope, key, commit, after, `config.${action}`, before, after);
  }

  private async validate(tx: Repositories, scope: ProjectConfigScope, proposed: ProposedItem, changes: ConfigChange[], opts: CommitOptions): Promise<void> {
    const def = proposed.definition!;
    const definitionChanged = changes.some((c) => c.kind === 'definition');
    if (definitionChanged) {
      const problems = schemaProblems(def.schema);
      if (problems.length) throw ValidationError.fromProblems('schema is not a valid JSON Schema (draft 2020-12)', problems, 'schema');
    }
    const schema = compileConfigSchema(def.schema);
    if (!proposed.layers.some((l) => l.scope === 'default')) throw new ValidationError('a config item needs a project default', [{ path: 'default', message: 'required' }]);
    if (proposed.layers.filter((l) => l.scope === 'tenant').length > CONFIG_LIMITS.maxTenantOverrides) {
      throw new ValidationError(`at most ${CONFIG_LIMITS.maxTenantOverrides} tenant overrides per item`);
    }
    for (const env of scope.environments) {
      if (proposed.layers.filter((l) => l.scope === 'targeted' && l.environment === env.key).length > CONFIG_LIMITS.maxTargetedPerEnvironment) {
        throw new ValidationError(`at most ${CONFIG_LIMITS.maxTargetedPerEnvironment} targeted overrides per environment`, [{ path: 'rules', message: 'too many' }]);
      }
    }
    // The layers this write changed: their own values first, with paths into the request.
    const segmentKeys = new Set((await tx.segments.listAll(scope.project.id)).map((s) => s.key));
    const details: ErrorDetail[] = [];
    for (const c of changes) {
      if (c.kind !== 'layer' || !c.after) continue;
      const where = opts.pathOf?.(c.address) ?? describe(c.address);
      // Secret references: well formed, and never in a client-visible item (client SDKs cannot read secrets).
      for (const p of secretReferenceProblems(c.after.value)) details.push({ path: join(where, p.path), message: p.message });
      if (def.clientVisible) for (const r of secretReferences(c.after.value)) details.push({ path: join(where, r.at), message: 'a client-visible item cannot refer to a secret: client SDKs can never read secrets' });
      // With replace, any layer can be the effective value, so each must be valid whole. With
      // merge, layers are patches: only the default stands alone; the rest is checked merged.
      // A reference stands for a string (what the schema sees at its place).
      if (def.merge === 'replace' || c.address.scope === 'default') {
        for (const p of schema.check(withReferencePlaceholders(c.after.value))) details.push({ path: join(where, p.path), message: p.message });
      }
      if (c.address.scope === 'targeted') {
        const base = where.replace(/\.value$/, '');
        for (const p of validateConditions(c.after.clauses, (k) => segmentKeys.has(k))) details.push({ path: join(`${base}.clauses`, p.path), message: p.message });
      }
    }
    // Made client-visible while a layer refers to a secret: refused too.
    if (def.clientVisible && definitionChanged && !details.length && proposed.layers.some((l) => secretReferences(l.value).length > 0)) {
      details.push({ path: 'clientVisible', message: 'the item refers to secrets in some of its values: client SDKs can never read secrets; remove the references first' });
    }
    if (details.length) throw new ValidationError('value does not satisfy the schema of the config item', details);
    // Then every effective value the change reaches.
    const touched = definitionChanged || changes.some((c) => c.kind === 'layer' && c.address.scope === 'default') ? ['*'] : [...new Set(changes.flatMap((c) => (c.kind === 'layer' && c.address.environment ? [c.address.environment] : [])))];
    const result = findBrokenValues({ merge: def.merge, layers: proposed.layers.map(toWireLayer), environments: scope.nodes, touched, check: (v) => schema.check(withReferencePlaceholders(v)) });
    if (result.tooManyCombinations) {
      const t = result.tooManyCombinations;
      throw new ValidationError(`targeted overrides of environment "${t.environment}" combine in ${t.combinations} ways, more than can be validated (256); use fewer rules along its chain`);
    }
    if (result.broken.length) {
      const n = result.broken.length;
      throw new WouldBreakValuesError(
        `the change would make ${n} effective value${n === 1 ? '' : 's'} invalid; nothing was stored`,
        result.broken.slice(0, 200).map((b) => ({ environment: b.environment, tenant: b.tenant, ...(b.rules ? { rules: b.rules } : {}), path: b.path, message: b.message })),
      );
    }
  }

  /** For each environment whose SDK view of the item changes: its config.upsert or config.delete. */
  private streamChanges(scope: ProjectConfigScope, key: string, before: ConfigItemState, after: ProposedItem & { version: number }, version: number): EnvironmentChanges[] {
    const out: EnvironmentChanges[] = [];
    for (const env of scope.environments) {
      const chain = chainOf(env.key, scope.nodes);
      const was = before.definition ? this.snapshotOf(scope, key, before.version, before.definition, before.layers, chain) : null;
      const now = after.definition ? this.snapshotOf(scope, key, version, after.definition, after.layers, chain) : null;
      if (sameJson(withoutVersion(was), withoutVersion(now))) continue;
      const change: ChangeV1 = now ? { type: 'config.upsert', config: now } : { type: 'config.delete', key };
      out.push({ environment: env, changes: [change] });
    }
    return out;
  }

  snapshotOf(scope: ProjectConfigScope, key: string, version: number, def: ConfigDefinition, layers: readonly StoredLayer[], chain: string[]): ConfigItemSnapshotV1 {
    return configSnapshotFor({ key, version, merge: def.merge, clientVisible: def.clientVisible }, layers, chain, scope.project.tenantAttribute);
  }

  /**
   * Giving `environment` a new parent changes the chain of it and of every environment below it:
   * re-validates every item's effective values there (refusing like any write) and returns the
   * config changes to stream to the environments whose view changed.
   */
  async reparent(tx: Repositories, scope: ProjectConfigScope, environment: string, parent: string | null): Promise<EnvironmentChanges[]> {
    const nodes = scope.nodes.map((n) => (n.key === environment ? { key: n.key, parent } : n));
    const items = await tx.configs.listAllItems(scope.project.id);
    const byEnv = new Map<string, EnvironmentChanges>();
    const broken: ErrorDetail[] = [];
    for (const item of items) {
      const state = await this.stateOf(tx, scope, item);
      const def = state.definition!;
      const schema = compileConfigSchema(def.schema);
      const result = findBrokenValues({ merge: def.merge, layers: state.layers.map(toWireLayer), environments: nodes, touched: [environment], check: (v) => schema.check(withReferencePlaceholders(v)) });
      for (const b of result.broken) broken.push({ environment: b.environment, tenant: b.tenant, ...(b.rules ? { rules: b.rules } : {}), path: b.path, message: `config item "${item.key}": ${b.message}` });
      for (const env of scope.environments) {
        const was = this.snapshotOf(scope, item.key, item.version, def, state.layers, chainOf(env.key, scope.nodes));
        const now = this.snapshotOf(scope, item.key, item.version, def, state.layers, chainOf(env.key, nodes));
        if (sameJson(was, now)) continue;
        const entry = byEnv.get(env.id) ?? { environment: env, changes: [] };
        entry.changes.push({ type: 'config.upsert', config: now });
        byEnv.set(env.id, entry);
      }
    }
    if (broken.length) throw new WouldBreakValuesError(`the new parent would make ${broken.length} effective configuration value${broken.length === 1 ? '' : 's'} invalid; nothing was stored`, broken.slice(0, 200));
    return [...byEnv.values()];
  }

  /** Every live item to every environment (after a project-wide change such as the tenant attribute). */
  async resendAll(tx: Repositories, projectKey: string): Promise<EnvironmentChanges[]> {
    const scope = await this.scope(tx, projectKey);
    const out: EnvironmentChanges[] = [];
    for (const env of scope.environments) {
      const changes = await this.upsertsFor(tx, projectKey, env.key);
      if (changes.length) out.push({ environment: env, changes });
    }
    return out;
  }

  /** Every live item as the environment's SDKs see it (for a new environment's first revision). */
  async upsertsFor(tx: Repositories, projectKey: string, environment: string): Promise<ChangeV1[]> {
    const scope = await this.scope(tx, projectKey);
    const chain = chainOf(environment, scope.nodes);
    const out: ChangeV1[] = [];
    for (const item of await tx.configs.listAllItems(scope.project.id)) {
      const state = await this.stateOf(tx, scope, item);
      out.push({ type: 'config.upsert', config: this.snapshotOf(scope, item.key, item.version, state.definition!, state.layers, chain) });
    }
    return out;
  }

  /** Reads through the store (for controllers that only read). */
  get read(): Repositories {
    return this.store.read;
  }
}

function withoutVersion(s: ConfigItemSnapshotV1 | null): unknown {
  if (!s) return null;
  const { version: _v, ...rest } = s;
  return { ...rest, layers: rest.layers.map(({ version: _lv, ...l }) => l) };
}


/** A layer's place, as an accessor path of the item view (`environments.prod.tenants.acme`). */
export function describe(a: LayerAddress): string {
  if (a.scope === 'default') return 'default';
  const env = `environments[${JSON.stringify(a.environment)}]`;
  if (a.scope === 'environment') return `${env}.value`;
  if (a.scope === 'tenant') return `${env}.tenants[${JSON.stringify(a.tenant)}]`;
  return `${env}.rules[${JSON.stringify(a.ruleId)}].value`;
}

function join(prefix: string, path: string): string {
  if (!path) return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}
