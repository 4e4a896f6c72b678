import { Body, Controller, Get, Headers, Inject, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ValidationError } from '@flagstream/errors';
import { defaultFlagEnvironmentSettings, type ChangeV1 } from '@flagstream/protocol';
import type { EnvironmentEntity, ProjectEntity, Repositories, Store } from '@flagstream/persistence';
import { Writer } from '../auth/current.decorator';
import { assertVersion, expectedVersion, flagSnapshot, mustEnvironment, mustProject, present, segmentSnapshot, type WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { ChangeService } from '../changes/change.service';
import { ConfigService } from '../configs/config.service';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { PageQuery, pageOf } from '../common/page.query';
import { STORE } from '../common/tokens';
import { CreateEnvironmentDto, UpdateEnvironmentDto } from './environment.dto';

@ApiTags('environments')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/environments`)
export class EnvironmentController {
  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly changes: ChangeService,
    private readonly configs: ConfigService,
  ) {}

  @Get()
  @Requires('viewer')
  async list(@Param('project', KeyPipe) projectKey: string, @Query() q: PageQuery) {
    const project = await mustProject(this.store.read, projectKey);
    const page = await this.store.read.environments.list(project.id, pageOf(q));
    const keys = await this.parentKeys(this.store.read, page.items);
    return { items: page.items.map((e) => present.environment(e, keys.get(e.parentId ?? '') ?? null)), nextCursor: page.nextCursor };
  }

  @Post()
  @Requires('owner')
  async create(
    @Param('project', KeyPipe) projectKey: string,
    @Body() dto: CreateEnvironmentDto,
    @Writer() w: WriteContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const view = await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const parent = dto.parent ? await this.parentOf(tx, project, dto.parent) : null;
      const env = await tx.environments.insert({ projectId: project.id, key: dto.key, name: dto.name, parentId: parent?.id ?? null, protected: dto.protected ?? false });
      // Every existing flag starts off in the new environment; its stream starts with all of them.
      const changes: ChangeV1[] = [];
      for (const flag of await tx.flags.listAll(project.id)) {
        const settings = await tx.flags.insertSettings({ flagId: flag.id, environmentId: env.id, ...defaultFlagEnvironmentSettings(flag, flag.key) });
        if (!flag.archived) changes.push({ type: 'flag.upsert', flag: flagSnapshot(flag, settings) });
      }
      for (const segment of await tx.segments.listAll(project.id)) changes.push({ type: 'segment.upsert', segment: segmentSnapshot(segment) });
      changes.push(...(await this.configs.upsertsFor(tx, project.key, env.key)));
      // The change below gives the new environment its first revision when there is anything to stream.
      const view = { ...present.environment(env, parent?.key ?? null), revision: changes.length ? 1 : 0 };
      return {
        result: view,
        project: project.key,
        environments: [{ environment: env, changes }],
        audit: { action: 'environment.created', target: { type: 'environment', key: env.key }, project: project.key, environment: env.key, after: view },
      };
    });
    // No ETag on environment bodies: they carry the revision, which changes without the version.
    res.status(201);
    return view;
  }

  @Get(':env')
  @Requires('viewer')
  async get(@Param('project', KeyPipe) projectKey: string, @Param('env', KeyPipe) envKey: string) {
    const project = await mustProject(this.store.read, projectKey);
    const env = await mustEnvironment(this.store.read, project, envKey);
    const keys = await this.parentKeys(this.store.read, [env]);
    return present.environment(env, keys.get(env.parentId ?? '') ?? null);
  }

  @Patch(':env')
  @Requires('owner')
  async update(
    @Param('project', KeyPipe) projectKey: string,
    @Param('env', KeyPipe) envKey: string,
    @Body() dto: UpdateEnvironmentDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
  ) {
    const expected = expectedVersion(ifMatch, dto.version);
    const view = await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const env = await mustEnvironment(tx, project, envKey);
      await tx.environments.lockForChange([env.id]);
      assertVersion(env.version, expected, `environment "${envKey}"`);
      const keys = await this.parentKeys(tx, [env]);
      const before = present.environment(env, keys.get(env.parentId ?? '') ?? null);
      let parentId = env.parentId;
      let parentKey = before.parent;
      if (dto.parent !== undefined) {
        const parent = dto.parent === null ? null : await this.parentOf(tx, project, dto.parent, env);
        parentId = parent?.id ?? null;
        parentKey = parent?.key ?? null;
      }
      // A new parent changes the configuration this environment and those below it inherit.
      const environments = parentKey !== before.parent ? await this.configs.reparent(tx, await this.configs.scope(tx, projectKey), envKey, parentKey) : [];
      const updated = await tx.environments.update(env, { name: dto.name ?? env.name, protected: dto.protected ?? env.protected, parentId });
      const after = present.environment(updated, parentKey);
      return { result: after, project: projectKey, environments, audit: { action: 'environment.updated', target: { type: 'environment', key: envKey }, project: projectKey, environment: envKey, before, after } };
    });
    return view;
  }

  /** The parent must exist in the same project and must not make the chain a cycle. */
  private async parentOf(tx: Repositories, project: ProjectEntity, key: string, child?: EnvironmentEntity): Promise<EnvironmentEntity> {
    const parent = await tx.environments.findByKey(project.id, key);
    if (!parent) throw new ValidationError('parent environment does not exist', [{ path: 'parent', message: `no environment "${key}" in project "${project.key}"` }]);
    if (child) {
      for (let e: EnvironmentEntity | null = parent, depth = 0; e; depth++) {
        if (e.id === child.id || depth > 32) {
          throw new ValidationError('environment inheritance would form a cycle', [{ path: 'parent', message: `"${key}" inherits from "${child.key}"` }]);
        }
        e = e.parentId ? await tx.environments.findById(e.parentId) : null;
      }
    }
    return parent;
  }

  private async parentKeys(r: Repositories, envs: EnvironmentEntity[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of new Set(envs.map((e) => e.parentId).filter((x): x is string => !!x))) {
      const p = await r.environments.findById(id);
      if (p) out.set(id, p.key);
    }
    return out;
  }
}
