import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Min } from 'class-validator';
import { PageQuery } from '../common/page.query';
import { JOB_QUEUE_NAMES, type JobQueueName } from './job-queues';

const QUEUE_MESSAGE = `queue must be one of ${JOB_QUEUE_NAMES.join(', ')}`;

/** Which failed jobs to list: one queue, newest failure first, by offset (failed sets are small and short-lived). */
export class FailedJobsQuery extends OmitType(PageQuery, ['cursor'] as const) {
  @ApiProperty({ enum: JOB_QUEUE_NAMES, example: 'alerts' })
  @IsIn(JOB_QUEUE_NAMES, { message: QUEUE_MESSAGE })
  queue!: JobQueueName;

  @ApiPropertyOptional({ minimum: 0, default: 0, description: 'how many failed jobs to skip (nextStart of the previous page)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  start?: number;
}

/** A job as operators see it: what it was for, why it failed, how often it ran. */
export class JobView {
  @ApiProperty({ enum: JOB_QUEUE_NAMES }) queue!: JobQueueName;
  @ApiProperty({ example: 'sched-2f0c6c1e-6a35-4a0e-9d1b-0f6a5e1f3b7d-v3' }) id!: string;
  @ApiProperty({ example: 'apply', description: 'the kind of job within its queue' }) name!: string;
  @ApiProperty({ example: 'failed', description: 'BullMQ state: failed in lists; after a retry usually waiting (or already active)' }) state!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the job data (ids and versions; sensitive fields are redacted)' })
  data!: unknown;
  @ApiProperty({ type: String, nullable: true, example: 'scheduled change 2f0c... cannot be applied: flag "checkout" does not exist' }) failedReason!: string | null;
  @ApiProperty({ example: 1 }) attemptsMade!: number;
  @ApiProperty({ example: 8, description: 'attempts allowed before the job stays failed' }) maxAttempts!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when the last attempt ended (null once retried)' }) finishedAt!: string | null;
}

/** One page of failed jobs. */
export class FailedJobPage {
  @ApiProperty({ type: [JobView] }) items!: JobView[];
  @ApiProperty({ description: 'failed jobs in the queue now' }) total!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'start of the next page, or null on the last page' }) nextStart!: number | null;
}

/** How many jobs a queue holds in each state. */
export class QueueCountsView {
  @ApiProperty({ enum: JOB_QUEUE_NAMES }) queue!: JobQueueName;
  @ApiProperty({ description: 'ready to run (prioritized and paused included)' }) waiting!: number;
  @ApiProperty({ description: 'waiting for their time (scheduled or backing off before a retry)' }) delayed!: number;
  @ApiProperty({ description: 'running on a worker now' }) active!: number;
  @ApiProperty({ description: 'out of attempts, or failed for good; kept 7 days' }) failed!: number;
  @ApiProperty({ description: 'done and not yet cleaned up' }) completed!: number;
}

/** Counts of every queue. */
export class JobCountsView {
  @ApiProperty({ type: [QueueCountsView] }) items!: QueueCountsView[];
}
