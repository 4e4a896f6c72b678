import { Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { FailedJobPage, FailedJobsQuery, JobCountsView, JobView } from './job.dto';
import { JobIdPipe, JobQueuePipe } from './job.pipes';
import { JOB_QUEUE_NAMES, type JobQueueName } from './job-queues';
import { JobService } from './job.service';

const UNAVAILABLE = 'this admin process was started without the job queues';
const QUEUE_PARAM = { name: 'queue', enum: JOB_QUEUE_NAMES, description: 'the queue the job is in' } as const;
const ID_PARAM = { name: 'id', description: 'the BullMQ job id (as listed)', example: 'sched-2f0c6c1e-6a35-4a0e-9d1b-0f6a5e1f3b7d-v3' } as const;

/**
 * The worker's BullMQ queues: counts, and the failed jobs kept for 7 days. Instance-wide, so only
 * tokens without a project scope; looking needs viewer, retrying or removing needs owner.
 */
@ApiTags('jobs')
@ApiBearerAuth()
@ApiForbiddenResponse({ description: 'the role is too low, or the token is limited to a project' })
@ApiServiceUnavailableResponse({ description: UNAVAILABLE })
@Controller(`${API}/jobs`)
export class JobController {
  constructor(private readonly jobs: JobService) {}

  @Get()
  @Requires('viewer', { unscoped: true })
  @ApiOperation({ summary: 'Jobs per queue: waiting, delayed, active, failed and completed' })
  @ApiOkResponse({ type: JobCountsView })
  counts() {
    return this.jobs.counts();
  }

  @Get('failed')
  @Requires('viewer', { unscoped: true })
  @ApiOperation({ summary: 'Failed jobs of one queue (out of attempts, or failed for good), newest failure first' })
  @ApiOkResponse({ type: FailedJobPage })
  @ApiBadRequestResponse({ description: 'queue is missing or not one of the queues; limit or start out of range' })
  failed(@Query() q: FailedJobsQuery) {
    return this.jobs.failed(q.queue, q.start ?? 0, q.limit ?? 50);
  }

  @Post('failed/:queue/:id/retry')
  @HttpCode(200)
  @Requires('owner', { unscoped: true })
  @ApiOperation({ summary: 'Move a failed job back to waiting with its attempts reset; audited as job.retried' })
  @ApiParam(QUEUE_PARAM)
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: JobView, description: 'the job after the retry (state waiting, or already active)' })
  @ApiBadRequestResponse({ description: 'not one of the queues, or not a job id' })
  @ApiNotFoundResponse({ description: 'the queue has no failed job with this id' })
  retry(@Param('queue', JobQueuePipe) queue: JobQueueName, @Param('id', JobIdPipe) id: string, @Writer() w: WriteContext) {
    return this.jobs.retry(w, queue, id);
  }

  @Delete('failed/:queue/:id')
  @HttpCode(204)
  @Requires('owner', { unscoped: true })
  @ApiOperation({ summary: 'Remove a failed job for good; audited as job.removed' })
  @ApiParam(QUEUE_PARAM)
  @ApiParam(ID_PARAM)
  @ApiNoContentResponse({ description: 'removed' })
  @ApiBadRequestResponse({ description: 'not one of the queues, or not a job id' })
  @ApiNotFoundResponse({ description: 'the queue has no failed job with this id' })
  async remove(@Param('queue', JobQueuePipe) queue: JobQueueName, @Param('id', JobIdPipe) id: string, @Writer() w: WriteContext): Promise<void> {
    await this.jobs.remove(w, queue, id);
  }
}
