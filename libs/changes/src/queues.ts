/**
 * Names of the worker's other BullMQ queues (their keys live under `bullPrefix(REDIS_KEY_PREFIX)`),
 * shared by the worker that runs them and the admin API that shows their failed jobs.
 */

/** Guardrail evaluations of running release plans (a repeating job). */
export const GUARDRAILS_QUEUE = 'guardrails';
/** Alert deliveries to the webhook target (retried with backoff, signed). */
export const ALERTS_QUEUE = 'alerts';
/** Periodic passes over secrets: due rotations (and their notices), signing key rotations. */
export const SECRET_MAINTENANCE_QUEUE = 'secret-maintenance';
/** Experiment aggregations: a repeating pass that snapshots every running experiment's results. */
export const EXPERIMENTS_QUEUE = 'experiments';
