/** The queue of release plan transitions (a `ReleasePlanQueuePort`, or null: the worker's sweep enqueues). */
export const RELEASE_PLAN_QUEUE = Symbol('RELEASE_PLAN_QUEUE');
