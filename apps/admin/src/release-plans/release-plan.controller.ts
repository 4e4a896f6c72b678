import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe, UuidPipe } from '../common/key.pipe';
import { pageOf } from '../common/page.query';
import { CreateReleasePlanDto, ReleasePlanListQuery } from './release-plan.dto';
import { ReleasePlanService } from './release-plan.service';

/**
 * Gradual rollouts of a flag in one environment. Writing needs the editor role, and the owner
 * role when the environment is protected; timed steps apply as the scheduler.
 */
@ApiTags('release plans')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/release-plans`)
export class ReleasePlanController {
  constructor(private readonly plans: ReleasePlanService) {}

  @Post()
  @Requires('editor')
  @ApiOperation({ summary: 'Create a draft plan: ordered milestones (a treatment percentage or weights, then a bake time or a manual gate). One active plan per flag and environment.' })
  async create(@Param('project', KeyPipe) projectKey: string, @Body() dto: CreateReleasePlanDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const created = await this.plans.create(w, projectKey, { ...dto, reason: dto.reason ?? w.reason });
    res.status(201);
    return created;
  }

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'Release plans of the project, oldest first; filter by status, environment or flag' })
  list(@Param('project', KeyPipe) projectKey: string, @Query() q: ReleasePlanListQuery) {
    return this.plans.list(projectKey, pageOf(q), { status: q.status, environment: q.environment, flag: q.flag });
  }

  @Get(':id')
  @Requires('viewer')
  @ApiOperation({ summary: 'One plan: status, current milestone, next transition time and history' })
  get(@Param('project', KeyPipe) projectKey: string, @Param('id', UuidPipe) id: string) {
    return this.plans.get(projectKey, id);
  }

  @Post(':id/start')
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({ summary: 'Start a draft: remembers the flag settings and applies the first milestone now' })
  start(@Param('project', KeyPipe) projectKey: string, @Param('id', UuidPipe) id: string, @Writer() w: WriteContext) {
    return this.plans.start(w, projectKey, id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({ summary: 'Pause a running plan; the bake time left is kept for resume' })
  pause(@Param('project', KeyPipe) projectKey: string, @Param('id', UuidPipe) id: string, @Writer() w: WriteContext) {
    return this.plans.pause(w, projectKey, id);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({ summary: 'Resume a paused plan with the bake time that was left' })
  resume(@Param('project', KeyPipe) projectKey: string, @Param('id', UuidPipe) id: string, @Writer() w: WriteContext) {
    return this.plans.resume(w, projectKey, id);
  }

  @Post(':id/advance')
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({ summary: 'Apply the next milestone now (this approves a manual gate)' })
  advance(@Param('project', KeyPipe) projectKey: string, @Param('id', UuidPipe) id: string, @Writer() w: WriteContext) {
    return this.plans.advance(w, projectKey, id);
  }

  @Post(':id/abort')
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({ summary: 'End the plan and restore the flag settings from before it started' })
  abort(@Param('project', KeyPipe) projectKey: string, @Param('id', UuidPipe) id: string, @Writer() w: WriteContext) {
    return this.plans.abort(w, projectKey, id);
  }
}
