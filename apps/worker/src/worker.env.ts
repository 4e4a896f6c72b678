import { COMMON_ENV, type EnvSpec } from '@flagstream/server';

export const WORKER_ENV = {
  ...COMMON_ENV,
  WORKER_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 4002, description: 'port of the worker' },
  WORKER_HOST: { type: 'string', default: '0.0.0.0', description: 'interface the worker listens on' },
} as const satisfies EnvSpec;
