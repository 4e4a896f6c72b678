/** The worker's queues (`JobQueues`), or null when this admin process was started without them. */
export const JOB_QUEUES = Symbol('JOB_QUEUES');
