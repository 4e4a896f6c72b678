import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ConflictError, ValidationError } from '@flagstream/errors';
import type { ChangeV1, ClauseV1, SegmentDefinitionV1 } from '@flagstream/protocol';
import { validateSegment } from '@flagstream/targeting';
import type { ProjectEntity, Repositories, SegmentEntity, Store } from '@flagstream/persistence';
import { Writer } from '../auth/current.decorator';
import { assertVersion, expectedVersion, mustProject, mustSegment, present, segmentSnapshot, type WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { ChangeService } from '../changes/change.service';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { PageQuery, pageOf } from '../common/page.query';
import { STORE } from '../common/tokens';
import { CreateSegmentDto, UpdateSegmentDto } from './segment.dto';

@ApiTags('segments')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/segments`)
export class SegmentController {
  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly changes: ChangeService,
  ) {}

  @Get()
  @Requires('viewer')
  async list(@Param('project', KeyPipe) projectKey: string, @Query() q: PageQuery) {
    const project = await mustProject(this.store.read, projectKey);
    const page = await this.store.read.segments.list(project.id, pageOf(q));
    return { items: page.items.map(present.segment), nextCursor: page.nextCursor };
  }

  @Post()
  @Requires('editor')
  async create(@Param('project', KeyPipe) projectKey: string, @Body() dto: CreateSegmentDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const view = await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const def: SegmentDefinitionV1 = { key: dto.key, included: dto.included ?? [], excluded: dto.excluded ?? [], rules: dto.rules ?? [] };
      await this.validate(tx, project, def);
      const segment = await tx.segments.insert({ projectId: project.id, name: dto.name ?? dto.key, description: dto.description ?? '', ...def });
      return this.outcome(tx, project, segment, 'segment.created', null);
    });
    res.status(201).setHeader('ETag', `"${view.version}"`);
    return view;
  }

  @Get(':segment')
  @Requires('viewer')
  async get(@Param('project', KeyPipe) projectKey: string, @Param('segment', KeyPipe) key: string, @Res({ passthrough: true }) res: Response) {
    const project = await mustProject(this.store.read, projectKey);
    const segment = await mustSegment(this.store.read, project, key);
    res.setHeader('ETag', `"${segment.version}"`);
    return present.segment(segment);
  }

  @Patch(':segment')
  @Requires('editor')
  async update(
    @Param('project', KeyPipe) projectKey: string,
    @Param('segment', KeyPipe) key: string,
    @Body() dto: UpdateSegmentDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const expected = expectedVersion(ifMatch, dto.version);
    const view = await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const segment = await mustSegment(tx, project, key, true);
      assertVersion(segment.version, expected, `segment "${key}"`);
      const before = present.segment(segment);
      const def: SegmentDefinitionV1 = {
        key,
        included: dto.included ?? segment.included,
        excluded: dto.excluded ?? segment.excluded,
        rules: dto.rules ?? segment.rules,
      };
      await this.validate(tx, project, def);
      Object.assign(segment, def, { name: dto.name ?? segment.name, description: dto.description ?? segment.description });
      return this.outcome(tx, project, await tx.segments.save(segment), 'segment.updated', before);
    });
    res.setHeader('ETag', `"${view.version}"`);
    return view;
  }

  /** Deletes a segment no flag or segment uses; otherwise 409 naming the users. */
  @Delete(':segment')
  @HttpCode(204)
  @Requires('editor')
  async remove(@Param('project', KeyPipe) projectKey: string, @Param('segment', KeyPipe) key: string, @Writer() w: WriteContext): Promise<void> {
    await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const segment = await mustSegment(tx, project, key, true);
      const users = await this.usersOf(tx, project, key);
      if (users.length) throw new ConflictError(`segment "${key}" is used by ${users.join(', ')}; remove those references first`);
      await tx.segments.remove(segment.id);
      const change: ChangeV1 = { type: 'segment.delete', key };
      const environments = (await tx.environments.listAll(project.id)).map((environment) => ({ environment, changes: [change] }));
      return { result: undefined, project: project.key, environments, audit: { action: 'segment.deleted', target: { type: 'segment', key }, project: project.key, before: present.segment(segment) } };
    });
  }

  private async validate(tx: Repositories, project: ProjectEntity, def: SegmentDefinitionV1): Promise<void> {
    const segments = new Map<string, SegmentDefinitionV1>(
      (await tx.segments.listAll(project.id)).map((s) => [s.key, { key: s.key, included: s.included, excluded: s.excluded, rules: s.rules }]),
    );
    const problems = validateSegment(def, { segments });
    if (problems.length) throw ValidationError.fromProblems('segment is not valid', problems);
  }

  private async outcome(tx: Repositories, project: ProjectEntity, segment: SegmentEntity, action: string, before: ReturnType<typeof present.segment> | null) {
    const after = present.segment(segment);
    const change: ChangeV1 = { type: 'segment.upsert', segment: segmentSnapshot(segment) };
    const environments = (await tx.environments.listAll(project.id)).map((environment) => ({ environment, changes: [change] }));
    return { result: after, project: project.key, environments, audit: { action, target: { type: 'segment', key: segment.key }, project: project.key, before, after } };
  }

  private async usersOf(tx: Repositories, project: ProjectEntity, key: string): Promise<string[]> {
    const uses = (clauses: ClauseV1[]) => clauses.some((c) => c.operator === 'inSegment' && c.values.includes(key));
    const users = new Set<string>();
    for (const s of await tx.segments.listAll(project.id)) {
      if (s.key !== key && s.rules.some((r) => uses(r.clauses))) users.add(`segment "${s.key}"`);
    }
    for (const env of await tx.environments.listAll(project.id)) {
      for (const { flag, settings } of await tx.flags.listWithSettings(env.id)) {
        if (settings.rules.some((r) => uses(r.clauses))) users.add(`flag "${flag.key}" (${env.key})`);
      }
    }
    return [...users];
  }
}
