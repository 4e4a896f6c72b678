import { EnvValidationError, loadEnv } from '@flagstream/server';
import { ALERT_ENV, alertSettingsFrom, webhookOrigin } from './alert.env';

const SECRET = 's3cr3t-0123456789abcdef0123456789abcdef';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof EnvValidationError) return e.problems;
    throw e;
  }
  throw new Error('expected an EnvValidationError');
}

describe('ALERT_ENV and alertSettingsFrom', () => {
  it('defaults to no webhook (alerts logged) and the documented retry policy', () => {
    const env = loadEnv(ALERT_ENV, {});
    expect(env).toEqual({ ALERT_ATTEMPTS: 10, ALERT_BACKOFF_MS: 2000, ALERT_TIMEOUT_MS: 5000 });
    expect(alertSettingsFrom(env)).toEqual({ webhook: null, policy: { attempts: 10, backoffMs: 2000 } });
  });

  it('reads a webhook with its secret and timeout', () => {
    const env = loadEnv(ALERT_ENV, { ALERT_WEBHOOK_URL: 'https://ops.example.com/hooks/flagstream?team=sre', ALERT_WEBHOOK_SECRET: SECRET, ALERT_ATTEMPTS: '3', ALERT_BACKOFF_MS: '500', ALERT_TIMEOUT_MS: '1500' });
    expect(alertSettingsFrom(env)).toEqual({
      webhook: { url: 'https://ops.example.com/hooks/flagstream?team=sre', secret: SECRET, timeoutMs: 1500 },
      policy: { attempts: 3, backoffMs: 500 },
    });
  });

  it('treats empty variables as unset', () => {
    expect(alertSettingsFrom(loadEnv(ALERT_ENV, { ALERT_WEBHOOK_URL: '', ALERT_WEBHOOK_SECRET: '' })).webhook).toBeNull();
  });

  it('refuses a URL that is not http(s), and bounds on the numbers, through loadEnv', () => {
    const problems = problemsOf(() => loadEnv(ALERT_ENV, { ALERT_WEBHOOK_URL: 'ftp://ops.example.com/x', ALERT_ATTEMPTS: '0', ALERT_TIMEOUT_MS: '99' }));
    expect(problems.join('\n')).toMatch(/^ALERT_WEBHOOK_URL: must match pattern "\^https\?:\/\/"/m);
    expect(problems.join('\n')).toMatch(/^ALERT_ATTEMPTS: must be >= 1/m);
    expect(problems.join('\n')).toMatch(/^ALERT_TIMEOUT_MS: must be >= 100/m);
  });

  it('requires the secret when the URL is set', () => {
    const env = loadEnv(ALERT_ENV, { ALERT_WEBHOOK_URL: 'https://ops.example.com/hook' });
    expect(problemsOf(() => alertSettingsFrom(env))).toEqual([
      'ALERT_WEBHOOK_SECRET: is required when ALERT_WEBHOOK_URL is set (HMAC-SHA256 key that signs each delivery, 32+ characters)',
    ]);
  });

  it('refuses a short secret without printing it, even through loadEnv', () => {
    const short = 'short-secret-31-characters-long';
    expect(short).toHaveLength(31);
    const env = loadEnv(ALERT_ENV, { ALERT_WEBHOOK_URL: 'https://ops.example.com/hook', ALERT_WEBHOOK_SECRET: short });
    let error: unknown;
    try {
      alertSettingsFrom(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvValidationError);
    expect((error as Error).message).toMatch(/ALERT_WEBHOOK_SECRET: must be at least 32 characters/);
    expect((error as Error).message).not.toContain(short);
    expect(alertSettingsFrom({ ...env, ALERT_WEBHOOK_SECRET: `${short}x` }).webhook?.secret).toBe(`${short}x`);
  });

  it('refuses a URL with credentials in it, and lists every problem at once', () => {
    const env = loadEnv(ALERT_ENV, { ALERT_WEBHOOK_URL: 'https://ops:pw@ops.example.com/hook' });
    expect(problemsOf(() => alertSettingsFrom(env))).toEqual([
      expect.stringMatching(/^ALERT_WEBHOOK_URL: must not contain a user name or password/),
      expect.stringMatching(/^ALERT_WEBHOOK_SECRET: is required/),
    ]);
    expect(problemsOf(() => alertSettingsFrom({ ...env, ALERT_WEBHOOK_URL: 'mailto:ops@example.com', ALERT_WEBHOOK_SECRET: SECRET }))).toEqual([
      'ALERT_WEBHOOK_URL: must be an http(s) URL (got the scheme "mailto:")',
    ]);
    expect(problemsOf(() => alertSettingsFrom({ ...env, ALERT_WEBHOOK_URL: 'not a url', ALERT_WEBHOOK_SECRET: SECRET }))).toEqual(['ALERT_WEBHOOK_URL: must be an absolute http(s) URL']);
  });

  it('shows only the origin of a webhook URL in logs', () => {
    expect(webhookOrigin('https://hooks.example.com:8443/services/T0/B0/tok3n?x=1')).toBe('https://hooks.example.com:8443');
    expect(webhookOrigin('nope')).toBe('[invalid URL]');
  });
});
