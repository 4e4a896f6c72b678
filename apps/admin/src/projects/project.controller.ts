import { Body, Controller, Get, Headers, Inject, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Store } from '@flagstream/persistence';
import { Requires } from '../auth/requires.decorator';
import { Writer } from '../auth/current.decorator';
import { assertVersion, expectedVersion, mustProject, present, type WriteContext } from '@flagstream/changes';
import { ChangeService } from '../changes/change.service';
import { ConfigService } from '../configs/config.service';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { PageQuery, pageOf } from '../common/page.query';
import { STORE } from '../common/tokens';
import { CreateProjectDto, UpdateProjectDto } from './project.dto';

@ApiTags('projects')
@ApiBearerAuth()
@Controller(`${API}/projects`)
export class ProjectController {
  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly changes: ChangeService,
    private readonly configs: ConfigService,
  ) {}

  @Get()
  @Requires('viewer')
  async list(@Query() q: PageQuery, @Writer() w: WriteContext) {
    const page = await this.store.read.projects.list(pageOf(q), w.principal.projectId ? [w.principal.projectId] : undefined);
    return { items: page.items.map(present.project), nextCursor: page.nextCursor };
  }

  @Post()
  @Requires('owner', { unscoped: true })
  async create(@Body() dto: CreateProjectDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const project = await this.changes.write(w, async (tx) => {
      const p = await tx.projects.insert({ key: dto.key, name: dto.name, description: dto.description ?? '' });
      return { result: p, audit: { action: 'project.created', target: { type: 'project', key: p.key }, project: p.key, after: present.project(p) } };
    });
    res.status(201).setHeader('ETag', `"${project.version}"`);
    return present.project(project);
  }

  @Get(':project')
  @Requires('viewer')
  async get(@Param('project', KeyPipe) key: string, @Res({ passthrough: true }) res: Response) {
    const p = await mustProject(this.store.read, key);
    res.setHeader('ETag', `"${p.version}"`);
    return present.project(p);
  }

  @Patch(':project')
  @Requires('owner')
  async update(
    @Param('project', KeyPipe) key: string,
    @Body() dto: UpdateProjectDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const expected = expectedVersion(ifMatch, dto.version);
    const project = await this.changes.write(w, async (tx) => {
      const p = await mustProject(tx, key, true);
      assertVersion(p.version, expected, `project "${key}"`);
      const before = present.project(p);
      const updated = await tx.projects.update(p, { name: dto.name ?? p.name, description: dto.description ?? p.description, tenantAttribute: dto.tenantAttribute ?? p.tenantAttribute });
      // Config items carry the tenant attribute to SDKs: every environment gets them again.
      const environments = updated.tenantAttribute !== before.tenantAttribute ? await this.configs.resendAll(tx, key) : [];
      return { result: updated, project: key, environments, audit: { action: 'project.updated', target: { type: 'project', key }, project: key, before, after: present.project(updated) } };
    });
    res.setHeader('ETag', `"${project.version}"`);
    return present.project(project);
  }
}
