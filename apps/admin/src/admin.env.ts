import { AUDIT_ENV, COMMON_ENV, EXPERIMENT_ENV, KEK_ENV, type EnvSpec } from '@flagstream/server';

export const ADMIN_ENV = {
  ...COMMON_ENV,
  ...AUDIT_ENV,
  ...KEK_ENV,
  ...EXPERIMENT_ENV,
  ADMIN_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 4000, description: 'port of the admin API' },
  ADMIN_HOST: { type: 'string', default: '0.0.0.0', description: 'interface the admin API listens on' },
  ADMIN_PUBLIC_URL: { type: 'string', format: 'uri', description: 'URL printed for people (default http://localhost:ADMIN_PORT)' },
  FLAGSTREAM_ADMIN_TOKEN: { type: 'string', minLength: 24, description: 'owner token to create on first start (24+ characters); generated if unset' },
  FLAGSTREAM_DEMO: { type: 'boolean', description: 'seed a demo project into an empty database (default: on unless NODE_ENV=production)' },
  CHANGE_STREAM_MAXLEN: { type: 'integer', minimum: 100, maximum: 10000000, default: 10000, description: 'approximate length bound of each environment change stream in Redis' },
  ADMIN_BODY_LIMIT: { type: 'string', pattern: '^\\d+(b|kb|mb)$', default: '256kb', description: 'largest accepted request body' },
} as const satisfies EnvSpec;
