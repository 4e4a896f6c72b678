import { Injectable, type PipeTransform } from '@nestjs/common';
import { BadRequestError } from '@flagstream/errors';
import { JOB_QUEUE_NAMES, isJobQueueName, type JobQueueName } from './job-queues';

/** The `queue` path parameter: one of the worker's queues. */
@Injectable()
export class JobQueuePipe implements PipeTransform<unknown, JobQueueName> {
  transform(value: unknown): JobQueueName {
    if (!isJobQueueName(value)) {
      throw new BadRequestError(`"${String(value).slice(0, 80)}" is not a job queue`, [{ path: 'queue', message: `must be one of ${JOB_QUEUE_NAMES.join(', ')}` }]);
    }
    return value;
  }
}

/** BullMQ job ids are free strings; ours are short and printable (see the *JobId functions in libs/changes). */
const MAX_JOB_ID = 200;

/** The `id` path parameter: a job id of at most 200 characters without control characters. */
@Injectable()
export class JobIdPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_JOB_ID || [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
      throw new BadRequestError(`"${String(value).slice(0, 80)}" is not a valid job id`, [{ path: 'id', message: `must be 1 to ${MAX_JOB_ID} characters without control characters` }]);
    }
    return value;
  }
}
