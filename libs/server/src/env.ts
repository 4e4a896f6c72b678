import Ajv from 'ajv';
import addFormats from 'ajv-formats';

/** One environment variable: its JSON Schema type after coercion, default and meaning. */
export interface EnvVar {
  type: 'string' | 'integer' | 'boolean';
  description: string;
  default?: string | number | boolean;
  /** JSON Schema keywords applied to the coerced value. */
  format?: 'uri';
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  enum?: readonly string[];
  /** A secret (a key, a password): an error about it gives its length, never its value. */
  sensitive?: boolean;
}

export type EnvSpec = Record<string, EnvVar>;

type ValueOf<V extends EnvVar> = V['type'] extends 'integer' ? number : V['type'] extends 'boolean' ? boolean : string;
export type EnvOf<S extends EnvSpec> = { [K in keyof S]: S[K]['default'] extends undefined ? ValueOf<S[K]> | undefined : ValueOf<S[K]> };

export class EnvValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EnvValidationError';
  }
}

/**
 * Validates the process environment against `spec` at boot and fails listing every bad variable
 * (not just the first), with what was expected.
 */
export function loadEnv<S extends EnvSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): EnvOf<S> {
  const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
  addFormats(ajv);
  const properties: Record<string, object> = {};
  for (const [name, v] of Object.entries(spec)) {
    const { description: _d, ...schema } = v;
    properties[name] = schema;
  }
  const validate = ajv.compile({ type: 'object', properties });
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(spec)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') values[name] = raw;
  }
  if (!validate(values)) {
    const problems = (validate.errors ?? []).map((e) => {
      const name = e.instancePath.replace(/^\//, '');
      const got = spec[name]?.sensitive ? `${String(env[name] ?? '').length} characters` : JSON.stringify(env[name]);
      return `${name}: ${e.message ?? 'is invalid'} (${spec[name]?.description ?? ''}; got ${got})`;
    });
    throw new EnvValidationError([...new Set(problems)]);
  }
  return values as EnvOf<S>;
}

/** Variables every Flagstream app reads. */
export const COMMON_ENV = {
  NODE_ENV: { type: 'string', enum: ['development', 'production', 'test'], default: 'development', description: 'development, production or test' },
  DATABASE_URL: { type: 'string', format: 'uri', pattern: '^postgres(ql)?://', default: 'postgres://postgres@127.0.0.1:5432/flagstream', description: 'Postgres connection URL' },
  REDIS_URL: { type: 'string', format: 'uri', pattern: '^rediss?://', default: 'redis://127.0.0.1:6379', description: 'Redis connection URL' },
  REDIS_KEY_PREFIX: { type: 'string', pattern: '^[A-Za-z0-9:_-]{1,64}$', default: 'flagstream:', description: 'prefix of every Redis key' },
  LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'pino log level' },
} as const satisfies EnvSpec;

/** The admin app's audit key (the only process that writes and verifies the chain). */
export const AUDIT_ENV = {
  FLAGSTREAM_AUDIT_KEY: { type: 'string', minLength: 32, sensitive: true, description: 'HMAC key of the audit hash chain (32+ characters); required in production' },
} as const satisfies EnvSpec;

/** Experiment aggregation (the admin's on-demand runs and the worker's schedule read the same setting). */
export const EXPERIMENT_ENV = {
  EXPERIMENT_SETTLE_SECONDS: { type: 'integer', minimum: 0, maximum: 604800, default: 3600, description: 'how long after its stop an experiment keeps counting late events' },
} as const satisfies EnvSpec;

export const DEV_AUDIT_KEY = 'flagstream-development-audit-key-not-for-production';

/** The audit key, refusing to run production without one. */
export function auditKeyFrom(env: { NODE_ENV: string; FLAGSTREAM_AUDIT_KEY?: string }): string {
  if (env.FLAGSTREAM_AUDIT_KEY) return env.FLAGSTREAM_AUDIT_KEY;
  if (env.NODE_ENV === 'production') {
    throw new EnvValidationError(['FLAGSTREAM_AUDIT_KEY: is required when NODE_ENV=production (HMAC key of the audit chain, 32+ characters)']);
  }
  return DEV_AUDIT_KEY;
}
