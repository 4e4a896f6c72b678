import { Body, Controller, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { expectedVersion, type WriteContext } from '@flagstream/changes';
import { BadRequestError } from '@flagstream/errors';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe, UuidPipe } from '../common/key.pipe';
import { pageOf } from '../common/page.query';
import { CancelScheduleDto, CreateScheduleDto, parseChange, RescheduleDto, ScheduleListQuery } from './scheduled-change.dto';
import { ScheduledChangeService } from './scheduled-change.service';

/**
 * Flag and config writes scheduled for a time, applied by the worker as the scheduler. Writing
 * needs the editor role, and the owner role when the environment is protected: the change will
 * apply with the scheduler's rights, so the creator's are checked now.
 */
@ApiTags('scheduled changes')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/scheduled-changes`)
export class ScheduledChangeController {
  constructor(private readonly schedules: ScheduledChangeService) {}

  @Post()
  @Requires('editor')
  @ApiOperation({
    summary:
      'Schedule a flag settings write, a flag toggle, or a config value set/remove for a time. The change is validated now as the manual write would be; other pending changes of the same target are listed in conflicts (not refused).',
  })
  async create(@Param('project', KeyPipe) projectKey: string, @Body() dto: CreateScheduleDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const change = parseChange(dto.change);
    const created = await this.schedules.create(w, projectKey, { environment: dto.environment, runAt: new Date(dto.runAt), change, reason: dto.reason ?? w.reason });
    res.status(201);
    return created;
  }

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'Scheduled changes of the project, soonest first; filter by status, environment, flag or config item' })
  list(@Param('project', KeyPipe) projectKey: string, @Query() q: ScheduleListQuery) {
    if (q.flag !== undefined && q.config !== undefined) throw new BadRequestError('give flag or config, not both', [{ path: 'config', message: 'not with flag' }]);
    return this.schedules.list(projectKey, pageOf(q), { status: q.status, environment: q.environment, flag: q.flag, config: q.config });
  }

  @Get(':id')
  @Requires('viewer')
  @ApiOperation({ summary: 'One scheduled change: its status, and once applied its revision, or once failed the error' })
  get(@Param('project', KeyPipe) projectKey: string, @Param('id', UuidPipe) id: string) {
    return this.schedules.get(projectKey, id);
  }

  @Patch(':id')
  @Requires('editor')
  @ApiOperation({ summary: 'Move a pending change to another time (needs its version, as If-Match or version)' })
  reschedule(
    @Param('project', KeyPipe) projectKey: string,
    @Param('id', UuidPipe) id: string,
    @Body() dto: RescheduleDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
  ) {
    return this.schedules.reschedule(w, projectKey, id, expectedVersion(ifMatch, dto.version), new Date(dto.runAt));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({ summary: 'Cancel a pending change (optionally only at a version); applied, failed or cancelled ones answer 409' })
  cancel(
    @Param('project', KeyPipe) projectKey: string,
    @Param('id', UuidPipe) id: string,
    @Body() dto: CancelScheduleDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Writer() w: WriteContext,
  ) {
    const version = ifMatch === undefined && dto?.version === undefined ? undefined : expectedVersion(ifMatch, dto?.version);
    return this.schedules.cancel(w, projectKey, id, version);
  }
}
