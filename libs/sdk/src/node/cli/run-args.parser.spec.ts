import { CliUsageError } from './cli.errors';
import { parseRunArgs, type RunOptions } from './run-args.parser';

const ENV = { FLAGSTREAM_GATEWAY_URL: 'http://gw.test:4001' };

/** The usage error's message for these arguments (fails when they parse). */
function usageError(argv: string[], env: Record<string, string | undefined> = ENV): string {
  try {
    parseRunArgs(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(CliUsageError);
    expect((e as CliUsageError).exitCode).toBe(2);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

describe('parseRunArgs', () => {
  it('defaults: the gateway from the environment, the key from FLAGSTREAM_SDK_KEY, every secret, env mode', () => {
    expect(parseRunArgs(['--', 'node', 'server.js', '--port', '3000'], ENV)).toEqual<RunOptions>({
      gateway: 'http://gw.test:4001',
      keyEnv: 'FLAGSTREAM_SDK_KEY',
      secrets: [],
      config: [],
      envPrefix: '',
      allowOverride: [],
      mode: 'env',
      watch: false,
      graceMs: 10_000,
      debounceMs: 500,
      timeoutMs: 10_000,
      command: 'node',
      args: ['server.js', '--port', '3000'],
    });
  });

  it('reads every flag; lists repeat or use commas; everything after -- is the command, flags included', () => {
    const argv = [
      '--gateway', 'https://flags.example.com', '--key-env', 'MY_KEY', '--secrets', 'payments/**', '--secrets', 'db/*,certs/tls',
      '--config', 'checkout.limits,checkout.banner', '--env-prefix', 'APP_', '--allow-override', 'APP_DB_URL', '--allow-override', 'APP_A, APP_B', '--watch', '--grace-ms', '2500', '--debounce-ms', '0',
      '--timeout-ms', '3000', '--mode', 'env', '--', 'sh', '-c', 'echo --watch -- $APP_DB_PASSWORD',
    ];
    expect(parseRunArgs(argv, {})).toEqual<RunOptions>({
      gateway: 'https://flags.example.com',
      keyEnv: 'MY_KEY',
      secrets: ['payments/**', 'db/*', 'certs/tls'],
      config: ['checkout.limits', 'checkout.banner'],
      envPrefix: 'APP_',
      allowOverride: ['APP_DB_URL', 'APP_A', 'APP_B'],
      mode: 'env',
      watch: true,
      graceMs: 2500,
      debounceMs: 0,
      timeoutMs: 3000,
      command: 'sh',
      args: ['-c', 'echo --watch -- $APP_DB_PASSWORD'],
    });
    expect(parseRunArgs(['--mode=pipe', '--gateway=http://x', '--', 'cat'], {})).toMatchObject({ mode: 'pipe', gateway: 'http://x', command: 'cat', args: [] });
    expect(parseRunArgs(['--mode', 'socket', '--', 'cat'], ENV)).toMatchObject({ mode: 'socket' });
  });

  it('--gateway wins over FLAGSTREAM_GATEWAY_URL', () => {
    expect(parseRunArgs(['--gateway', 'http://other:1', '--', 'x'], ENV)).toMatchObject({ gateway: 'http://other:1' });
  });

  it('answers help', () => {
    expect(parseRunArgs(['--help'], {})).toBe('help');
    expect(parseRunArgs(['-h', '--', 'x'], {})).toBe('help');
  });

  it.each<[string[], string]>([
    [['node', 'server.js'], 'unexpected argument before "--": put the command after it (flagstream run [options] -- <command> [args...])'],
    [[], 'no command: put it after "--" (flagstream run [options] -- <command> [args...])'],
    [['--watch', '--'], 'no command after "--"'],
    [['--', ''], 'the command after "--" is empty'],
    [['--mode', 'file', '--', 'x'], '--mode must be env, pipe or socket, not "file"'],
    [['--secrets', 'Payments/**', '--', 'x'], '--secrets "Payments/**" has the segment "Payments": segments are a-z, 0-9, "_", "." or "-" (starting with a letter or digit), "*" (one segment) or "**" (any number)'],
    [['--secrets', '', '--', 'x'], '--secrets "" must be 1 to 256 characters'],
    [['--config', 'checkout/limits', '--', 'x'], '--config "checkout/limits" is not a config key (dotted segments of letters, digits, "_" or "-", each starting with a letter)'],
    [['--env-prefix', '1X', '--', 'x'], '--env-prefix must be letters, digits and "_", not starting with a digit: "1X"'],
    [['--mode', 'pipe', '--env-prefix', 'A_', '--', 'x'], '--env-prefix applies to --mode env only (--mode pipe delivers paths as they are)'],
    [['--mode', 'socket', '--allow-override', 'DB_URL', '--', 'x'], '--allow-override applies to --mode env only (--mode socket sets no variable from a value)'],
    [['--allow-override', 'DB-URL', '--', 'x'], '--allow-override takes environment variable names (letters, digits, "_", not starting with a digit)'],
    [['--allow-override', '', '--', 'x'], '--allow-override takes environment variable names (letters, digits, "_", not starting with a digit)'],
    [
      ['--allow-override', 'DB_URL,NODE_OPTIONS', '--', 'x'],
      '--allow-override NODE_OPTIONS: NODE_OPTIONS changes how programs load or run, so flagstream run never sets it from a value, whatever the options: pass --env-prefix or use --mode pipe',
    ],
    [['--allow-override', 'ld_preload', '--', 'x'], '--allow-override ld_preload: ld_preload changes how programs load or run, so flagstream run never sets it from a value, whatever the options: pass --env-prefix or use --mode pipe'],
    [['--allow-override', 'PATH', '--', 'x'], '--allow-override PATH: PATH changes how programs load or run, so flagstream run never sets it from a value, whatever the options: pass --env-prefix or use --mode pipe'],
    [['--grace-ms', '10', '--', 'x'], '--grace-ms applies with --watch only'],
    [['--debounce-ms', '10', '--', 'x'], '--debounce-ms applies with --watch only'],
    [['--watch', '--grace-ms=-1', '--', 'x'], '--grace-ms must be a whole number of milliseconds from 0 to 3600000, not "-1"'],
    [['--watch', '--grace-ms=1.5', '--', 'x'], '--grace-ms must be a whole number of milliseconds from 0 to 3600000, not "1.5"'],
    [['--timeout-ms', '0', '--', 'x'], '--timeout-ms must be a whole number of milliseconds from 1 to 600000, not "0"'],
    [['--key-env', 'MY-KEY', '--', 'x'], '--key-env must be an environment variable name (letters, digits, "_", not starting with a digit)'],
    [['--gateway', 'not a url', '--', 'x'], '--gateway is not a valid URL'],
    [['--gateway', 'ftp://gw', '--', 'x'], '--gateway must be an http:// or https:// URL, not ftp:'],
  ])('refuses %j', (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });

  it('refuses unknown flags and a flag without its value, naming the flag', () => {
    expect(usageError(['--key', 'x', '--', 'y'])).toMatch(/^Unknown option '--key'/);
    expect(usageError(['--gateway'])).toMatch(/^Option '--gateway <value>' argument missing/);
  });

  it('needs a gateway', () => {
    expect(usageError(['--', 'x'], {})).toBe('no gateway: pass --gateway URL or set FLAGSTREAM_GATEWAY_URL');
    expect(usageError(['--', 'x'], { FLAGSTREAM_GATEWAY_URL: 'gw:4001:x' })).toBe('FLAGSTREAM_GATEWAY_URL must be an http:// or https:// URL, not gw:');
  });

  it('never repeats what may be a key: a stray argument, a key given to --key-env, a gateway URL', () => {
    const key = 'fs_server_0123456789abcdef';
    expect(usageError([key, '--', 'x'])).not.toContain(key);
    const message = usageError(['--key-env', key, '--', 'x']);
    expect(message).toBe('--key-env takes the NAME of the variable that holds the SDK key, not the key: a key on the command line is visible to every user in ps (revoke this one)');
    expect(usageError(['--gateway', `http://user:${key}@[bad`, '--', 'x'])).not.toContain(key);
    expect(usageError(['--allow-override', 'DB_PASSWORD=hunter2', '--', 'x'])).not.toContain('hunter2');
  });
});
