import { AUDIT_ENV, COMMON_ENV, DEV_AUDIT_KEY, EnvValidationError, auditKeyFrom, loadEnv } from './env';

describe('loadEnv', () => {
  const spec = { ...COMMON_ENV, ...AUDIT_ENV, ADMIN_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 4000, description: 'admin port' } } as const;

  it('applies defaults and coerces types', () => {
    const env = loadEnv(spec, { ADMIN_PORT: '4100' });
    expect(env.ADMIN_PORT).toBe(4100);
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/flagstream');
    expect(env.NODE_ENV).toBe('development');
  });

  it('lists every bad variable at once', () => {
    let error: unknown;
    try {
      loadEnv(spec, { ADMIN_PORT: 'abc', REDIS_URL: 'http://x', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvValidationError);
    const problems = (error as EnvValidationError).problems.join('\n');
    expect(problems).toMatch(/^ADMIN_PORT: must be integer/m);
    expect(problems).toMatch(/^REDIS_URL: must match pattern/m);
    expect(problems).toMatch(/^LOG_LEVEL: must be equal to one of the allowed values/m);
  });

  it('never prints the value of a sensitive variable it refuses', () => {
    const short = 'hunter2-not-long-enough';
    let error: unknown;
    try {
      loadEnv(spec, { FLAGSTREAM_AUDIT_KEY: short });
    } catch (e) {
      error = e;
    }
    const problems = (error as EnvValidationError).problems.join('\n');
    expect(problems).toMatch(/^FLAGSTREAM_AUDIT_KEY: must NOT have fewer than 32 characters \(.*; got 23 characters\)$/m);
    expect(problems).not.toContain(short);
    expect((error as Error).message).not.toContain(short);
  });

  it('requires an audit key in production only', () => {
    expect(auditKeyFrom({ NODE_ENV: 'development' })).toBe(DEV_AUDIT_KEY);
    expect(() => auditKeyFrom({ NODE_ENV: 'production' })).toThrow(/FLAGSTREAM_AUDIT_KEY: is required/);
    expect(auditKeyFrom({ NODE_ENV: 'production', FLAGSTREAM_AUDIT_KEY: 'k'.repeat(32) })).toBe('k'.repeat(32));
  });
});
