/** The queue of scheduled-change jobs (a `ScheduledChangeQueuePort`, or null: the worker's sweep enqueues). */
export const SCHEDULE_QUEUE = Symbol('SCHEDULE_QUEUE');
