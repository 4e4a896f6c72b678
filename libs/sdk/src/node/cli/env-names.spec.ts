import { CliRunError } from './cli.errors';
import { envNameFor, environmentFor } from './env-names';
import type { RunValues } from './run-values';

const values = (secrets: Record<string, string>, config: Record<string, unknown> = {}): RunValues => ({
  secrets: new Map(Object.entries(secrets)),
  config: new Map(Object.entries(config)),
});

/** The error environmentFor throws, or 'no error'. */
function refusal(v: RunValues, prefix = '', reserved: string[] = []): CliRunError | 'no error' {
  try {
    environmentFor(v, prefix, reserved);
    return 'no error';
  } catch (e) {
    if (!(e instanceof CliRunError)) throw e;
    return e;
  }
}

describe('envNameFor', () => {
  it.each([
    ['payments/stripe/api-key', '', 'PAYMENTS_STRIPE_API_KEY'],
    ['db/password', 'APP_', 'APP_DB_PASSWORD'],
    ['certs/tls.key', '', 'CERTS_TLS_KEY'],
    ['a_b/c', '', 'A_B_C'],
    ['checkout.limits', '', 'CHECKOUT_LIMITS'],
    ['checkout.maxItems', '', 'CHECKOUT_MAXITEMS'],
    ['token', 'my_', 'my_TOKEN'],
  ])('%s (prefix "%s") -> %s', (source, prefix, name) => {
    expect(envNameFor(source, prefix)).toBe(name);
  });
});

describe('environmentFor', () => {
  it('maps secrets as they are and config values that are not strings as JSON', () => {
    const env = environmentFor(
      values({ 'payments/stripe/api-key': 'sk_1', 'db/password': 'p w\nx' }, { 'checkout.limits': { maxItems: 50 }, 'checkout.banner': 'hello', 'checkout.on': true, 'checkout.n': 42 }),
      'APP_',
      [],
    );
    expect(env).toEqual({
      APP_PAYMENTS_STRIPE_API_KEY: 'sk_1',
      APP_DB_PASSWORD: 'p w\nx',
      APP_CHECKOUT_LIMITS: '{"maxItems":50}',
      APP_CHECKOUT_BANNER: 'hello',
      APP_CHECKOUT_ON: 'true',
      APP_CHECKOUT_N: '42',
    });
  });

  it('refuses two secrets that map to one name, naming both paths and never a value', () => {
    const e = refusal(values({ 'a/b-c': 'value-one', 'a/b/c': 'value-two' }));
    expect(e).toBeInstanceOf(CliRunError);
    expect((e as CliRunError).message).toBe(
      'secret "a/b-c" and secret "a/b/c" both map to the environment variable A_B_C: select one of them with --secrets/--config, or use --mode pipe (which keeps paths)',
    );
    expect((e as CliRunError).exitCode).toBe(1);
  });

  it('refuses a secret and a config item that map to one name', () => {
    const e = refusal(values({ 'checkout/limits': 's3cr3t' }, { 'checkout.limits': 1 }));
    expect((e as CliRunError).message).toMatch(/^secret "checkout\/limits" and config item "checkout.limits" both map to the environment variable CHECKOUT_LIMITS:/);
    expect((e as CliRunError).message).not.toContain('s3cr3t');
  });

  it('the same paths do not collide once only one of them is selected, or with distinct names', () => {
    expect(refusal(values({ 'a/b-c': 'x' }))).toBe('no error');
    expect(refusal(values({ 'a/b': 'x', 'a/bc': 'y', 'ab/c': 'z' }))).toBe('no error');
  });

  it('refuses a name that starts with a digit unless a prefix makes it usable', () => {
    const e = refusal(values({ '1password/token': 'x' }));
    expect((e as CliRunError).message).toBe(
      'secret "1password/token" maps to the environment variable 1PASSWORD_TOKEN, which a shell cannot use (it starts with a digit): pass --env-prefix, or use --mode pipe',
    );
    expect(environmentFor(values({ '1password/token': 'x' }), 'S_', [])).toEqual({ S_1PASSWORD_TOKEN: 'x' });
  });

  it('refuses the names the run uses itself (the key variable, the hand-over variables)', () => {
    const e = refusal(values({ 'flagstream/sdk-key': 'x' }), '', ['FLAGSTREAM_SDK_KEY', 'FLAGSTREAM_SECRETS_FD']);
    expect((e as CliRunError).message).toBe(
      'secret "flagstream/sdk-key" maps to the environment variable FLAGSTREAM_SDK_KEY, which flagstream run uses itself: pass --env-prefix',
    );
    expect(refusal(values({ 'flagstream/sdk-key': 'x' }), 'X_', ['FLAGSTREAM_SDK_KEY'])).toBe('no error');
  });

  it('refuses a value holding a NUL character (no environment variable can), without quoting it', () => {
    const e = refusal(values({ 'bin/blob': 'ab\0cd' }));
    expect((e as CliRunError).message).toBe('secret "bin/blob" holds a NUL character, which no environment variable can carry: use --mode pipe or --mode socket');
    expect(refusal(values({}, { 'a.b': 'x\0y' }))).toBeInstanceOf(CliRunError);
  });
});
