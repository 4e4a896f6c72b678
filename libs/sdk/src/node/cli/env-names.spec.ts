import { CliRunError } from './cli.errors';
import { ENV_DENYLIST, isDeniedEnvName } from './env-denylist';
import { envNameFor, environmentFor, type EnvironmentRules } from './env-names';
import type { RunValues } from './run-values';

const values = (secrets: Record<string, string>, config: Record<string, unknown> = {}): RunValues => ({
  secrets: new Map(Object.entries(secrets)),
  config: new Map(Object.entries(config)),
});

/** Rules with nothing reserved, nothing inherited, nothing allowed, unless `rules` says so. */
const rulesWith = (rules: Partial<EnvironmentRules> = {}): EnvironmentRules => ({ prefix: '', reserved: [], inherited: {}, allowOverride: [], ...rules });

/** The error environmentFor throws, or 'no error'. */
function refusal(v: RunValues, rules: Partial<EnvironmentRules> = {}): CliRunError | 'no error' {
  try {
    environmentFor(v, rulesWith(rules));
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
      rulesWith({ prefix: 'APP_' }),
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
    expect(environmentFor(values({ '1password/token': 'x' }), rulesWith({ prefix: 'S_' }))).toEqual({ S_1PASSWORD_TOKEN: 'x' });
  });

  it('refuses the names the run uses itself (the key variable, the hand-over variables)', () => {
    const e = refusal(values({ 'flagstream/sdk-key': 'x' }), { reserved: ['FLAGSTREAM_SDK_KEY', 'FLAGSTREAM_SECRETS_FD'] });
    expect((e as CliRunError).message).toBe(
      'secret "flagstream/sdk-key" maps to the environment variable FLAGSTREAM_SDK_KEY, which flagstream run uses itself: pass --env-prefix',
    );
    expect(refusal(values({ 'flagstream/sdk-key': 'x' }), { prefix: 'X_', reserved: ['FLAGSTREAM_SDK_KEY'] })).toBe('no error');
  });

  it('refuses a value holding a NUL character (no environment variable can), without quoting it', () => {
    const e = refusal(values({ 'bin/blob': 'ab\0cd' }));
    expect((e as CliRunError).message).toBe('secret "bin/blob" holds a NUL character, which no environment variable can carry: use --mode pipe or --mode socket');
    expect(refusal(values({}, { 'a.b': 'x\0y' }))).toBeInstanceOf(CliRunError);
  });
});

describe('ENV_DENYLIST', () => {
  it.each([
    // Every name the security review listed, and the members of each listed family.
    'PATH', 'HOME', 'SHELL', 'IFS', 'ENV', 'BASH_ENV', 'CDPATH', 'PS4', 'PROMPT_COMMAND', 'NODE_OPTIONS', 'NODE_PATH',
    'NODE_EXTRA_CA_CERTS', 'NODE_REPL_EXTERNAL_MODULE', 'NODE_TLS_REJECT_UNAUTHORIZED', 'PYTHONPATH', 'PYTHONSTARTUP',
    'PYTHONHOME', 'PERL5OPT', 'PERL5LIB', 'RUBYOPT', 'RUBYLIB', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS',
    'CLASSPATH', 'GIT_SSH_COMMAND', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'TMPDIR',
    'LD_PRELOAD', 'LD_LIBRARY_PATH', 'LD_AUDIT', 'DYLD_INSERT_LIBRARIES', 'GCONV_PATH', 'npm_config_script_shell', 'NPM_CONFIG_SCRIPT_SHELL',
    // In any case: Windows compares names so, npm reads npm_config_* so.
    'node_options', 'Path', 'ld_preload', 'Npm_Config_Registry',
  ])('denies %s', (name) => {
    expect(isDeniedEnvName(name)).toBe(true);
  });

  it.each([
    // Other NODE_ names stay usable; a prefix or a longer name is another variable.
    'NODE_ENV', 'NODE_APP_INSTANCE', 'APP_NODE_OPTIONS', 'PAYMENTS_PATH', 'PATHS', 'HOMEPAGE_URL', 'MY_LD_PRELOAD',
    'LDAP_PASSWORD', 'NPM_TOKEN', 'GITHUB_TOKEN', 'GIT_TOKEN', 'DB_PASSWORD', 'SHELL_COLOR', 'PAYMENTS_STRIPE_API_KEY',
  ])('allows %s', (name) => {
    expect(isDeniedEnvName(name)).toBe(false);
  });

  it('lists names and prefixes in upper case (they are compared upper-cased), and cannot be changed at run time', () => {
    for (const entry of [...ENV_DENYLIST.names, ...ENV_DENYLIST.prefixes]) expect(entry).toBe(entry.toUpperCase());
    expect(Object.isFrozen(ENV_DENYLIST)).toBe(true);
    expect(Object.isFrozen(ENV_DENYLIST.names)).toBe(true);
    expect(Object.isFrozen(ENV_DENYLIST.prefixes)).toBe(true);
  });
});

describe('environmentFor: names that change how programs load or run', () => {
  const PAYLOAD = '--import=data:text/javascript,process.stdout.write("pwned")';

  it('refuses a secret at node_options, naming the path and the variable, never the value', () => {
    const e = refusal(values({ 'app/token': 't0k3n', node_options: PAYLOAD }));
    expect(e).toBeInstanceOf(CliRunError);
    expect((e as CliRunError).exitCode).toBe(1);
    expect((e as CliRunError).message).toBe(
      'secret "node_options" maps to the environment variable NODE_OPTIONS, which changes how programs load or run, so flagstream run never sets it (whoever can write the secret could run code in the child): pass --env-prefix, leave it out with --secrets, or use --mode pipe',
    );
    expect((e as CliRunError).message).not.toContain('pwned');
    expect((e as CliRunError).message).not.toContain('t0k3n');
  });

  it.each([
    ['ld_preload', 'LD_PRELOAD'],
    ['ld/library-path', 'LD_LIBRARY_PATH'],
    ['node/options', 'NODE_OPTIONS'],
    ['bash-env', 'BASH_ENV'],
    ['path', 'PATH'],
    ['dyld/insert-libraries', 'DYLD_INSERT_LIBRARIES'],
    ['npm/config/script-shell', 'NPM_CONFIG_SCRIPT_SHELL'],
    ['gconv/path', 'GCONV_PATH'],
  ])('refuses a secret at %s (%s)', (path, name) => {
    expect((refusal(values({ [path]: '/tmp/x' })) as CliRunError).message).toMatch(
      new RegExp(`^secret "${path}" maps to the environment variable ${name}, which changes how programs load or run,`),
    );
  });

  it('refuses whatever the prefix: the prefixed name is what is checked', () => {
    expect((refusal(values({ options: 'x' }), { prefix: 'NODE_' }) as CliRunError).message).toMatch(/environment variable NODE_OPTIONS, which changes how programs load or run/);
    expect((refusal(values({ 'db/password': 'x' }), { prefix: 'LD_' }) as CliRunError).message).toMatch(/environment variable LD_DB_PASSWORD, which changes/);
    expect((refusal(values({ registry: 'x' }), { prefix: 'npm_config_' }) as CliRunError).message).toMatch(/environment variable npm_config_REGISTRY, which changes/);
    // A prefix that makes it another variable is the fix the message suggests.
    expect(environmentFor(values({ node_options: PAYLOAD, ld_preload: '/tmp/x.so' }), rulesWith({ prefix: 'APP_' }))).toEqual({
      APP_LD_PRELOAD: '/tmp/x.so',
      APP_NODE_OPTIONS: PAYLOAD,
    });
  });

  it('refuses a config item the same way (config writers are editors too)', () => {
    expect((refusal(values({}, { 'node.options': PAYLOAD })) as CliRunError).message).toBe(
      'config item "node.options" maps to the environment variable NODE_OPTIONS, which changes how programs load or run, so flagstream run never sets it (whoever can write the config item could run code in the child): pass --env-prefix, leave it out of --config, or use --mode pipe',
    );
  });

  it('cannot be overridden: allowOverride does not reach the denylist', () => {
    const e = refusal(values({ path: '/evil/bin' }), { inherited: { PATH: '/usr/bin' }, allowOverride: ['PATH'] });
    expect((e as CliRunError).message).toMatch(/^secret "path" maps to the environment variable PATH, which changes how programs load or run,/);
    expect((e as CliRunError).message).not.toContain('/evil/bin');
    expect((e as CliRunError).message).not.toContain('/usr/bin');
  });
});

describe('environmentFor: names already in the environment', () => {
  it('refuses a name the CLI inherited (it would silently replace it), naming it and never either value', () => {
    const e = refusal(values({ 'db/password': 'new-s3cret' }), { inherited: { DB_PASSWORD: 'old-inherited', HOME: '/home/u' } });
    expect((e as CliRunError).exitCode).toBe(1);
    expect((e as CliRunError).message).toBe(
      'secret "db/password" maps to the environment variable DB_PASSWORD, which is already set in flagstream run\'s environment and would be replaced: pass --allow-override DB_PASSWORD to replace it, pass --env-prefix, or use --mode pipe',
    );
    expect((e as CliRunError).message).not.toContain('new-s3cret');
    expect((e as CliRunError).message).not.toContain('old-inherited');
  });

  it('replaces it when allowOverride names it, and only the names it lists', () => {
    const inherited = { DB_PASSWORD: 'old', DB_USER: 'old-user' };
    expect(environmentFor(values({ 'db/password': 'new' }), rulesWith({ inherited, allowOverride: ['DB_PASSWORD'] }))).toEqual({ DB_PASSWORD: 'new' });
    const e = refusal(values({ 'db/password': 'new', 'db/user': 'u' }), { inherited, allowOverride: ['DB_PASSWORD'] });
    expect((e as CliRunError).message).toMatch(/^secret "db\/user" maps to the environment variable DB_USER, which is already set/);
  });

  it('refuses a config item too, and a variable set to the empty string; an unset one (undefined) is no conflict', () => {
    expect((refusal(values({}, { 'checkout.limits': 1 }), { inherited: { CHECKOUT_LIMITS: '' } }) as CliRunError).message).toMatch(
      /^config item "checkout.limits" maps to the environment variable CHECKOUT_LIMITS, which is already set/,
    );
    expect(environmentFor(values({}, { 'checkout.limits': 1 }), rulesWith({ inherited: { CHECKOUT_LIMITS: undefined } }))).toEqual({ CHECKOUT_LIMITS: '1' });
  });

  it('a prefix makes another name: no conflict', () => {
    expect(environmentFor(values({ 'db/password': 'new' }), rulesWith({ prefix: 'APP_', inherited: { DB_PASSWORD: 'old' } }))).toEqual({ APP_DB_PASSWORD: 'new' });
  });

  it('compares names exactly, or without regard to case where the platform does (Windows)', () => {
    const inherited = { db_password: 'old' };
    expect(environmentFor(values({ 'db/password': 'new' }), rulesWith({ inherited }))).toEqual({ DB_PASSWORD: 'new' });
    expect((refusal(values({ 'db/password': 'new' }), { inherited, ignoreCase: true }) as CliRunError).message).toMatch(/variable DB_PASSWORD, which is already set/);
    expect(environmentFor(values({ 'db/password': 'new' }), rulesWith({ inherited, ignoreCase: true, allowOverride: ['db_password'] }))).toEqual({ DB_PASSWORD: 'new' });
  });

  it('the names the run uses itself stay refused as such, even when inherited and allowed', () => {
    const e = refusal(values({ 'flagstream/sdk-key': 'x' }), { reserved: ['FLAGSTREAM_SDK_KEY'], inherited: { FLAGSTREAM_SDK_KEY: 'k' }, allowOverride: ['FLAGSTREAM_SDK_KEY'] });
    expect((e as CliRunError).message).toMatch(/which flagstream run uses itself: pass --env-prefix$/);
  });
});
