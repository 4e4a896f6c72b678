import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { diffStates, type ConfigItemState, type LayerAddress, type StoredLayer } from '@flagstream/config';
import { BadRequestError, ConflictError, NotFoundError } from '@flagstream/errors';
import type { ConfigItemEntity, Repositories } from '@flagstream/persistence';
import { Writer } from '../auth/current.decorator';
import { configView, type ProjectConfigScope, type ProposedItem, type WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { ChangeService } from '../changes/change.service';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { PageQuery, pageOf } from '../common/page.query';
import { CreateConfigDto, DiffQuery, ExplainQuery, RollbackDto, SetRulesDto, SetValueDto, UpdateConfigDto, VersionOnlyDto } from './config.dto';
import { ConfigExplainer } from './config.explainer';
import { ConfigKeyPipe, TenantPipe } from './config.pipes';
import { ConfigService } from './config.service';

/** The version a config write expects, if the caller sent one (If-Match or `version`); optional. */
function optionalVersion(ifMatch: string | undefined, bodyVersion: number | undefined): number | undefined {
  if (ifMatch === undefined) return bodyVersion;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(ifMatch);
  if (!m) throw new BadRequestError('If-Match must be a version such as "3"', [{ path: 'If-Match', message: 'not a version' }]);
  const v = Number(m[1]);
  if (bodyVersion !== undefined && bodyVersion !== v) throw new BadRequestError('If-Match and version disagree', [{ path: 'version', message: `If-Match says ${v}` }]);
  return v;
}

@ApiTags('configs')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/configs`)
export class ConfigController {
  constructor(
    private readonly configs: ConfigService,
    private readonly changes: ChangeService,
    private readonly explainer: ConfigExplainer,
  ) {}

  @Get()
  @Requires('viewer')
  async list(@Param('project', KeyPipe) projectKey: string, @Query() q: PageQuery) {
    const r = this.configs.read;
    const scope = await this.configs.scope(r, projectKey);
    const page = await r.configs.listItems(scope.project.id, pageOf(q));
    return {
      items: page.items.map((i) => ({ key: i.key, description: i.description, merge: i.merge, clientVisible: i.clientVisible, tags: i.tags, version: i.version, updatedAt: i.updatedAt.toISOString() })),
      nextCursor: page.nextCursor,
    };
  }

  @Post()
  @Requires('editor')
  @ApiOperation({ summary: 'Create a config item with its schema and project default (or re-create a deleted key, continuing its history)' })
  async create(@Param('project', KeyPipe) projectKey: string, @Body() dto: CreateConfigDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const view = await this.changes.write(w, async (tx) => {
      const scope = await this.configs.scope(tx, projectKey);
      const existing = await tx.configs.findItem(scope.project.id, dto.key, true);
      if (existing && !existing.deleted) throw new ConflictError(`config item "${dto.key}" already exists`);
      const proposed: ProposedItem = {
        definition: { description: dto.description ?? '', schema: dto.schema, merge: dto.merge ?? 'replace', clientVisible: dto.clientVisible ?? false, tags: dto.tags ?? [] },
        layers: [{ scope: 'default', value: dto.default, version: 0 }],
      };
      const commit = await this.configs.commit(tx, w, scope, dto.key, existing, proposed, { action: 'created', pathOf: (a) => (a.scope === 'default' ? 'default' : undefined) });
      const after = configView(dto.key, commit.state, commit.item);
      return this.configs.outcome(scope, dto.key, commit, after, 'config.created', null, after);
    });
    res.status(201).setHeader('ETag', `"${view.version}"`);
    return view;
  }

  @Get(':key')
  @Requires('viewer')
  async get(@Param('project', KeyPipe) projectKey: string, @Param('key', ConfigKeyPipe) key: string, @Res({ passthrough: true }) res: Response) {
    const r = this.configs.read;
    const scope = await this.configs.scope(r, projectKey);
    const item = await mustItem(r, scope, key);
    res.setHeader('ETag', `"${item.version}"`);
    return configView(key, await this.configs.stateOf(r, scope, item), item);
  }

  @Patch(':key')
  @Requires('editor')
  @ApiOperation({ summary: 'Change the description, schema, merge strategy, visibility or tags; a new schema is checked against every layer and effective value' })
  async update(
    @Param('project', KeyPipe) projectKey: string,
    @Param('key', ConfigKeyPipe) key: string,
    @Body() dto: UpdateConfigDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.mutate(projectKey, key, w, res, optionalVersion(ifMatch, dto.version), 'updated', (state) => ({
      definition: {
        ...state.definition!,
        ...(dto.description !== undefined ? { description: dto.description } : {}),
        ...(dto.schema !== undefined ? { schema: dto.schema } : {}),
        ...(dto.merge !== undefined ? { merge: dto.merge } : {}),
        ...(dto.clientVisible !== undefined ? { clientVisible: dto.clientVisible } : {}),
        ...(dto.tags !== undefined ? { tags: dto.tags } : {}),
      },
      layers: state.layers,
    }));
  }

  @Delete(':key')
  @HttpCode(204)
  @Requires('editor')
  @ApiOperation({ summary: 'Delete an item (its history stays; SDKs stop receiving it)' })
  async remove(@Param('project', KeyPipe) projectKey: string, @Param('key', ConfigKeyPipe) key: string, @Body() dto: VersionOnlyDto, @Headers('if-match') ifMatch: string | undefined, @Writer() w: WriteContext): Promise<void> {
    await this.changes.write(w, async (tx) => {
      const scope = await this.configs.scope(tx, projectKey);
      const item = await mustItem(tx, scope, key, true);
      const before = configView(key, await this.configs.stateOf(tx, scope, item), item);
      const commit = await this.configs.commit(tx, w, scope, key, item, { definition: null, layers: [] }, { action: 'deleted', expected: optionalVersion(ifMatch, dto?.version) });
      return this.configs.outcome(scope, key, commit, undefined, 'config.deleted', before, null);
    });
  }

  @Put(':key/default')
  @Requires('editor')
  @ApiOperation({ summary: 'Set the project default (the weakest layer)' })
  async setDefault(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Body() dto: SetValueDto, @Headers('if-match') ifMatch: string | undefined, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    return this.writeLayer(p, key, w, res, optionalVersion(ifMatch, dto.version), 'default', dto.value);
  }

  @Put(':key/environments/:env')
  @Requires('editor')
  @ApiOperation({ summary: "Set an environment's value (inherited by environments below it)" })
  async setEnvironment(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Param('env', KeyPipe) env: string, @Body() dto: SetValueDto, @Headers('if-match') ifMatch: string | undefined, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    return this.writeLayer(p, key, w, res, optionalVersion(ifMatch, dto.version), { environment: env }, dto.value);
  }

  @Delete(':key/environments/:env')
  @Requires('editor')
  @ApiOperation({ summary: "Remove an environment's value (it inherits again)" })
  async clearEnvironment(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Param('env', KeyPipe) env: string, @Headers('if-match') ifMatch: string | undefined, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    return this.writeLayer(p, key, w, res, optionalVersion(ifMatch, undefined), { environment: env }, undefined);
  }

  @Put(':key/environments/:env/tenants/:tenant')
  @Requires('editor')
  @ApiOperation({ summary: 'Set a tenant override at an environment' })
  async setTenant(
    @Param('project', KeyPipe) p: string,
    @Param('key', ConfigKeyPipe) key: string,
    @Param('env', KeyPipe) env: string,
    @Param('tenant', TenantPipe) tenant: string,
    @Body() dto: SetValueDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    return this.writeLayer(p, key, w, res, optionalVersion(ifMatch, dto.version), { environment: env, tenant }, dto.value);
  }

  @Delete(':key/environments/:env/tenants/:tenant')
  @Requires('editor')
  @ApiOperation({ summary: 'Remove a tenant override' })
  async clearTenant(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Param('env', KeyPipe) env: string, @Param('tenant', TenantPipe) tenant: string, @Headers('if-match') ifMatch: string | undefined, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    return this.writeLayer(p, key, w, res, optionalVersion(ifMatch, undefined), { environment: env, tenant }, undefined);
  }

  @Put(':key/environments/:env/rules')
  @Requires('editor')
  @ApiOperation({ summary: "Replace an environment's targeted overrides (ordered; the first rule whose clauses hold applies)" })
  async setRules(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Param('env', KeyPipe) env: string, @Body() dto: SetRulesDto, @Headers('if-match') ifMatch: string | undefined, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const ids = new Set<string>();
    dto.rules.forEach((r, i) => {
      if (ids.has(r.id)) throw new BadRequestError('rule ids must be unique', [{ path: `rules[${i}].id`, message: `"${r.id}" is used twice` }]);
      ids.add(r.id);
    });
    return this.mutate(
      p,
      key,
      w,
      res,
      optionalVersion(ifMatch, dto.version),
      'rules.set',
      (state, scope) => {
        mustEnvironment(scope, env);
        const others = state.layers.filter((l) => !(l.scope === 'targeted' && l.environment === env));
        const rules: StoredLayer[] = dto.rules.map((r, i) => ({ scope: 'targeted', environment: env, ruleId: r.id, clauses: r.clauses, order: i, value: r.value, version: 0 }));
        return { definition: state.definition, layers: [...others, ...rules] };
      },
      (a) => (a.scope === 'targeted' && a.environment === env ? `rules[${dto.rules.findIndex((r) => r.id === a.ruleId)}].value` : undefined),
    );
  }

  @Get(':key/versions')
  @Requires('viewer')
  @ApiOperation({ summary: 'History of an item, newest first (what changed, who, why, when)' })
  async versions(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Query() q: PageQuery) {
    const r = this.configs.read;
    const scope = await this.configs.scope(r, p);
    const item = await mustItem(r, scope, key, false, true);
    const page = await r.configs.versions(item.id, pageOf(q));
    return {
      items: page.items.map((v) => ({ version: v.version, action: v.action, author: v.author, reason: v.reason, createdAt: v.createdAt.toISOString(), changes: v.changes })),
      nextCursor: page.nextCursor,
    };
  }

  @Get(':key/versions/:version')
  @Requires('viewer')
  @ApiOperation({ summary: 'The item as it was at a version' })
  async versionState(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Param('version') raw: string) {
    const version = positiveInt(raw, 'version');
    const r = this.configs.read;
    const scope = await this.configs.scope(r, p);
    const item = await mustItem(r, scope, key, false, true);
    if (version > item.version) throw new NotFoundError(`config item "${key}" has no version ${version} (latest is ${item.version})`);
    return configView(key, await this.configs.stateAt(r, item, { version }));
  }

  @Get(':key/diff')
  @Requires('viewer')
  @ApiOperation({ summary: 'What changed between two versions (0 = before creation)' })
  async diff(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Query() q: DiffQuery) {
    const r = this.configs.read;
    const scope = await this.configs.scope(r, p);
    const item = await mustItem(r, scope, key, false, true);
    for (const [name, v] of [['from', q.from], ['to', q.to]] as const) {
      if (v > item.version) throw new BadRequestError(`config item "${key}" has no version ${v}`, [{ path: name, message: `latest is ${item.version}` }]);
    }
    const from = await this.configs.stateAt(r, item, { version: q.from });
    const to = await this.configs.stateAt(r, item, { version: q.to });
    return { from: q.from, to: q.to, changes: diffStates(from, to) };
  }

  @Post(':key/rollback')
  @Requires('editor')
  @ApiOperation({ summary: 'Restore the state of a past version, recorded (and audited) as a new version' })
  async rollback(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Body() dto: RollbackDto, @Headers('if-match') ifMatch: string | undefined, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const view = await this.changes.write(w, async (tx) => {
      const scope = await this.configs.scope(tx, p);
      const item = await mustItem(tx, scope, key, true, true);
      if (dto.to >= item.version) throw new BadRequestError(`can only roll back to an earlier version than ${item.version}`, [{ path: 'to', message: `must be below ${item.version}` }]);
      const target = await this.configs.stateAt(tx, item, { version: dto.to });
      for (const l of target.layers) if (l.environment !== undefined && !scope.byKey.has(l.environment)) throw new BadRequestError(`version ${dto.to} has a layer in environment "${l.environment}", which no longer exists`);
      const before = configView(key, await this.configs.stateOf(tx, scope, item), item);
      const commit = await this.configs.commit(tx, w, scope, key, item, { definition: target.definition, layers: target.layers }, { action: `rollback to ${dto.to}`, expected: optionalVersion(ifMatch, dto.version) });
      const after = configView(key, commit.state, commit.item);
      return this.configs.outcome(scope, key, commit, after, 'config.rolled-back', before, after);
    });
    res.setHeader('ETag', `"${view.version}"`);
    return view;
  }

  @Get(':key/explain')
  @Requires('viewer')
  @ApiOperation({ summary: 'Which layer supplies the effective value for an environment (and tenant, context), which version, who and when, and what it shadows' })
  async explain(@Param('project', KeyPipe) p: string, @Param('key', ConfigKeyPipe) key: string, @Query() q: ExplainQuery) {
    return this.explainer.explain(p, key, q);
  }

  /** The default, an environment value or a tenant override: the same code the worker's scheduled changes run. */
  private async writeLayer(projectKey: string, key: string, w: WriteContext, res: Response, expected: number | undefined, address: { environment: string; tenant?: string } | 'default', value: unknown) {
    const view = await this.changes.write(w, (tx) => this.configs.setLayerIn(tx, w, projectKey, key, address, value, { expected }));
    res.setHeader('ETag', `"${view.version}"`);
    return view;
  }

  /** Loads an item, applies `change` to its state, commits it as one audited, streamed version. */
  private async mutate(
    projectKey: string,
    key: string,
    w: WriteContext,
    res: Response,
    expected: number | undefined,
    action: string,
    change: (state: ConfigItemState, scope: ProjectConfigScope) => ProposedItem,
    pathOf?: (a: LayerAddress) => string | undefined,
  ) {
    const view = await this.changes.write(w, async (tx) => {
      const scope = await this.configs.scope(tx, projectKey);
      const item = await mustItem(tx, scope, key, true);
      const state = await this.configs.stateOf(tx, scope, item);
      const before = configView(key, state, item);
      const commit = await this.configs.commit(tx, w, scope, key, item, change(state, scope), { action, expected, pathOf });
      const after = configView(key, commit.state, commit.item);
      return this.configs.outcome(scope, key, commit, after, `config.${action}`, before, after);
    });
    res.setHeader('ETag', `"${view.version}"`);
    return view;
  }
}

async function mustItem(r: Repositories, scope: ProjectConfigScope, key: string, lock = false, includeDeleted = false): Promise<ConfigItemEntity> {
  const item = await r.configs.findItem(scope.project.id, key, lock);
  if (!item || (item.deleted && !includeDeleted)) throw new NotFoundError(`config item "${key}" does not exist in project "${scope.project.key}"`);
  return item;
}

function mustEnvironment(scope: ProjectConfigScope, env: string): void {
  if (!scope.byKey.has(env)) throw new NotFoundError(`environment "${env}" does not exist in project "${scope.project.key}"`);
}

function positiveInt(raw: string, name: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) throw new BadRequestError(`${name} must be a positive integer`, [{ path: name, message: 'must be a positive integer' }]);
  return Number(raw);
}
