import { AUDIT_ENV, COMMON_ENV, EXPERIMENT_ENV, KEK_ENV, type EnvSpec } from '@flagstream/server';
import { ALERT_ENV } from './alerts/alert.env';

export const WORKER_ENV = {
  ...COMMON_ENV,
  // The worker appends the audit records of the changes it applies: it needs the admin's key.
  ...AUDIT_ENV,
  ...ALERT_ENV,
  // Secret rotations write new versions: the KEK (optional in production: without it, no rotations).
  ...KEK_ENV,
  ...EXPERIMENT_ENV,
  WORKER_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 4002, description: 'port of the worker' },
  WORKER_HOST: { type: 'string', default: '0.0.0.0', description: 'interface the worker listens on' },
  WORKER_CONCURRENCY: { type: 'integer', minimum: 1, maximum: 64, default: 4, description: 'jobs one worker process runs at once' },
  WORKER_SWEEP_MS: { type: 'integer', minimum: 1000, maximum: 3600000, default: 30000, description: 'how often the worker re-enqueues every pending scheduled change from Postgres' },
  WORKER_JOB_ATTEMPTS: { type: 'integer', minimum: 1, maximum: 100, default: 8, description: 'attempts of a job that fails on transient errors (invalid changes are never retried)' },
  WORKER_JOB_BACKOFF_MS: { type: 'integer', minimum: 10, maximum: 600000, default: 1000, description: 'first retry delay of a failed job; each next one doubles' },
  WORKER_GUARDRAIL_MS: { type: 'integer', minimum: 100, maximum: 3600000, default: 60000, description: 'how often the guardrails of running release plans are evaluated (one pass per period across all workers)' },
  WORKER_EXPERIMENT_MS: { type: 'integer', minimum: 100, maximum: 86400000, default: 900000, description: 'how often running experiments are aggregated into a results snapshot (one pass per period across all workers)' },
  WORKER_ROTATION_MS: { type: 'integer', minimum: 100, maximum: 3600000, default: 60000, description: 'how often due secret rotations run (one pass per period across all workers)' },
  CHANGE_STREAM_MAXLEN: { type: 'integer', minimum: 100, maximum: 10000000, default: 10000, description: 'approximate length bound of each environment change stream in Redis (same as the admin)' },
} as const satisfies EnvSpec;
