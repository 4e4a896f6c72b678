import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Patch, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Store } from '@flagstream/persistence';
import { Writer } from '../auth/current.decorator';
import { expectedVersion, mustProject, present, type WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { pageOf } from '../common/page.query';
import { STORE } from '../common/tokens';
import { CreateFlagDto, FlagListQuery, FlagSettingsDto, ToggleDto, UpdateFlagDto } from './flag.dto';
import { FlagService } from './flag.service';

@ApiTags('flags')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/flags`)
export class FlagController {
  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly flags: FlagService,
  ) {}

  @Get()
  @Requires('viewer')
  async list(@Param('project', KeyPipe) projectKey: string, @Query() q: FlagListQuery) {
    const project = await mustProject(this.store.read, projectKey);
    const archived = q.archived === undefined ? undefined : q.archived === 'true';
    const page = await this.store.read.flags.list(project.id, pageOf(q), { archived, tag: q.tag });
    return { items: page.items.map(present.flag), nextCursor: page.nextCursor };
  }

  @Post()
  @Requires('editor')
  async create(@Param('project', KeyPipe) projectKey: string, @Body() dto: CreateFlagDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const flag = await this.flags.create(w, projectKey, dto);
    res.status(201).setHeader('ETag', `"${flag.version}"`);
    return flag;
  }

  @Get(':flag')
  @Requires('viewer')
  // No ETag here: the body embeds every environment's settings, which have versions of their own.
  get(@Param('project', KeyPipe) projectKey: string, @Param('flag', KeyPipe) flagKey: string) {
    return this.flags.get(projectKey, flagKey);
  }

  @Patch(':flag')
  @Requires('editor')
  async update(
    @Param('project', KeyPipe) projectKey: string,
    @Param('flag', KeyPipe) flagKey: string,
    @Body() dto: UpdateFlagDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const flag = await this.flags.update(w, projectKey, flagKey, expectedVersion(ifMatch, dto.version), dto);
    res.setHeader('ETag', `"${flag.version}"`);
    return flag;
  }

  @Post(':flag/archive')
  @HttpCode(200)
  @Requires('editor')
  archive(@Param('project', KeyPipe) projectKey: string, @Param('flag', KeyPipe) flagKey: string, @Writer() w: WriteContext) {
    return this.flags.setArchived(w, projectKey, flagKey, true);
  }

  @Post(':flag/restore')
  @HttpCode(200)
  @Requires('editor')
  restore(@Param('project', KeyPipe) projectKey: string, @Param('flag', KeyPipe) flagKey: string, @Writer() w: WriteContext) {
    return this.flags.setArchived(w, projectKey, flagKey, false);
  }

  @Get(':flag/environments/:env')
  @Requires('viewer')
  async getSettings(
    @Param('project', KeyPipe) projectKey: string,
    @Param('flag', KeyPipe) flagKey: string,
    @Param('env', KeyPipe) envKey: string,
    @Res({ passthrough: true }) res: Response,
  ) {
    const s = await this.flags.getSettings(projectKey, flagKey, envKey);
    res.setHeader('ETag', `"${s.version}"`);
    return s;
  }

  @Put(':flag/environments/:env')
  @Requires('editor')
  async putSettings(
    @Param('project', KeyPipe) projectKey: string,
    @Param('flag', KeyPipe) flagKey: string,
    @Param('env', KeyPipe) envKey: string,
    @Body() dto: FlagSettingsDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const s = await this.flags.putSettings(w, projectKey, flagKey, envKey, expectedVersion(ifMatch, dto.version), dto);
    res.setHeader('ETag', `"${s.version}"`);
    return s;
  }

  @Post(':flag/environments/:env/toggle')
  @HttpCode(200)
  @Requires('editor')
  toggle(
    @Param('project', KeyPipe) projectKey: string,
    @Param('flag', KeyPipe) flagKey: string,
    @Param('env', KeyPipe) envKey: string,
    @Body() dto: ToggleDto,
    @Writer() w: WriteContext,
  ) {
    return this.flags.toggle(w, projectKey, flagKey, envKey, dto.on);
  }
}
