import { parseArgs } from 'node:util';
import { isValidConfigKey } from '@flagstream/protocol';
import { CliUsageError } from './cli.errors';
import { isDeniedEnvName } from './env-denylist';
import { secretPatternProblem } from './secret-pattern';

/** How the child receives the values (see docs/cli.md). */
export type DeliveryMode = 'env' | 'pipe' | 'socket';

/** `flagstream run`'s settings, from its flags and the environment. */
export interface RunOptions {
  /** The gateway's base URL (`--gateway`, else `FLAGSTREAM_GATEWAY_URL`). */
  gateway: string;
  /** The environment variable holding the server SDK key (never a flag: argv is visible to every user in `ps`). */
  keyEnv: string;
  /** Secret path patterns to deliver; empty: every secret the key reads. */
  secrets: string[];
  /** Config item keys to deliver too (default none). */
  config: string[];
  /** Prepended to every variable name in `env` mode. */
  envPrefix: string;
  /** Variables of the CLI's environment that `env` mode may replace (`--allow-override`); never a denied name. */
  allowOverride: string[];
  /** How the child receives the values. */
  mode: DeliveryMode;
  /** Restart the child when a delivered value changes. */
  watch: boolean;
  /** With `watch`: how long a child has to exit after SIGTERM before SIGKILL. */
  graceMs: number;
  /** With `watch`: changes closer together than this make one restart. */
  debounceMs: number;
  /** How long to wait for the gateway's first answer (flags and secrets). */
  timeoutMs: number;
  /** The program to start (the first word after `--`; no shell). */
  command: string;
  /** Its arguments, as given. */
  args: string[];
}

/** The SDK key's variable by default. */
export const DEFAULT_KEY_ENV = 'FLAGSTREAM_SDK_KEY';
/** The gateway's variable, used when `--gateway` is absent. */
export const GATEWAY_ENV = 'FLAGSTREAM_GATEWAY_URL';

/** `flagstream run --help`: the options, short; docs/cli.md has the rest. */
export const RUN_USAGE = `usage: flagstream run [options] -- <command> [args...]

Starts <command> with the secrets (and config items) its server SDK key may read, in its
environment or over a pipe or socket, never written to disk. The key is read from an
environment variable, never from the command line.

  --gateway URL          the gateway (default: $${GATEWAY_ENV})
  --key-env NAME         the variable holding the server SDK key (default ${DEFAULT_KEY_ENV});
                         it is removed from the child's environment
  --secrets PATTERN      only secrets whose path matches PATTERN ("*" one segment, "**" any);
                         repeat it or separate patterns with commas (default: every secret the key reads)
  --config KEY           also deliver the config item KEY (its value in the key's environment);
                         repeat it or separate keys with commas (default: none)
  --env-prefix P         prepended to every variable name (--mode env)
  --allow-override NAME  let a delivered variable replace NAME, already set in this environment
                         (--mode env; repeat it or separate names with commas). Loader and runtime
                         variables (NODE_OPTIONS, LD_*, PATH…) are never set, whatever the options
  --mode env|pipe|socket env: variables (payments/stripe/api-key -> PAYMENTS_STRIPE_API_KEY);
                         pipe: one JSON document on the file descriptor in $FLAGSTREAM_SECRETS_FD;
                         socket: one JSON document from the Unix socket in $FLAGSTREAM_SECRETS_SOCKET
                         (default env)
  --watch                restart the child when a delivered value changes
  --grace-ms N           with --watch: time for the child to exit after SIGTERM before SIGKILL (default 10000)
  --debounce-ms N        with --watch: changes within N ms make one restart (default 500)
  --timeout-ms N         how long to wait for the gateway (default 10000)
  -h, --help             this text

Exit status: the child's (128 + n when signal n ended it); 2 for usage errors; 1 when the run
cannot go on. See docs/cli.md.`;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reads `flagstream run`'s arguments (those after `run`). Everything after the first `--` is the
 * command, untouched; before it, only flags. Throws `CliUsageError` saying which flag is wrong.
 * Returns `'help'` for `-h`/`--help`.
 */
export function parseRunArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): RunOptions | 'help' {
  const dashes = argv.indexOf('--');
  const flags = dashes === -1 ? [...argv] : argv.slice(0, dashes);
  const command = dashes === -1 ? [] : argv.slice(dashes + 1);
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(flags);
  } catch (e) {
    // parseArgs' messages name the flag ("Unknown option '--foo'", "Option '--mode <value>' argument missing").
    throw new CliUsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 0) {
    // Not repeated: a stray argument may be a key pasted by mistake.
    throw new CliUsageError('unexpected argument before "--": put the command after it (flagstream run [options] -- <command> [args...])');
  }
  if (command.length === 0) {
    throw new CliUsageError(dashes === -1 ? 'no command: put it after "--" (flagstream run [options] -- <command> [args...])' : 'no command after "--"');
  }
  if (command[0] === '') throw new CliUsageError('the command after "--" is empty');

  const keyEnv = values['key-env'] ?? DEFAULT_KEY_ENV;
  if (/^fs_(server|client)_/.test(keyEnv)) {
    throw new CliUsageError('--key-env takes the NAME of the variable that holds the SDK key, not the key: a key on the command line is visible to every user in ps (revoke this one)');
  }
  if (!ENV_NAME.test(keyEnv)) throw new CliUsageError('--key-env must be an environment variable name (letters, digits, "_", not starting with a digit)');

  const secrets = splitList(values.secrets);
  for (const pattern of secrets) {
    const problem = secretPatternProblem(pattern);
    if (problem) throw new CliUsageError(`--secrets "${pattern}" ${problem}`);
  }
  const config = splitList(values.config);
  for (const key of config) {
    if (!isValidConfigKey(key)) throw new CliUsageError(`--config "${key}" is not a config key (dotted segments of letters, digits, "_" or "-", each starting with a letter)`);
  }

  const mode = values.mode ?? 'env';
  if (mode !== 'env' && mode !== 'pipe' && mode !== 'socket') throw new CliUsageError(`--mode must be env, pipe or socket, not "${mode}"`);
  const envPrefix = values['env-prefix'] ?? '';
  if (values['env-prefix'] !== undefined) {
    if (mode !== 'env') throw new CliUsageError(`--env-prefix applies to --mode env only (--mode ${mode} delivers paths as they are)`);
    if (!ENV_NAME.test(envPrefix)) throw new CliUsageError(`--env-prefix must be letters, digits and "_", not starting with a digit: "${envPrefix}"`);
  }
  const allowOverride = splitList(values['allow-override']);
  if (allowOverride.length > 0 && mode !== 'env') {
    throw new CliUsageError(`--allow-override applies to --mode env only (--mode ${mode} sets no variable from a value)`);
  }
  for (const name of allowOverride) {
    // Not repeated: `--allow-override DB_PASSWORD=…` would carry a value.
    if (!ENV_NAME.test(name)) throw new CliUsageError('--allow-override takes environment variable names (letters, digits, "_", not starting with a digit)');
    if (isDeniedEnvName(name)) {
      throw new CliUsageError(
        `--allow-override ${name}: ${name} changes how programs load or run, so flagstream run never sets it from a value, whatever the options: pass --env-prefix or use --mode pipe`,
      );
    }
  }
  if (mode === 'socket' && process.platform === 'win32') throw new CliUsageError('--mode socket needs Unix domain sockets (not available on Windows): use --mode pipe');

  const gateway = values.gateway ?? env[GATEWAY_ENV];
  if (gateway === undefined || gateway === '') throw new CliUsageError(`no gateway: pass --gateway URL or set ${GATEWAY_ENV}`);
  const source = values.gateway !== undefined ? '--gateway' : GATEWAY_ENV;
  let url: URL;
  try {
    url = new URL(gateway);
  } catch {
    throw new CliUsageError(`${source} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliUsageError(`${source} must be an http:// or https:// URL, not ${url.protocol}`);

  const watch = values.watch ?? false;
  for (const flag of ['grace-ms', 'debounce-ms'] as const) {
    if (values[flag] !== undefined && !watch) throw new CliUsageError(`--${flag} applies with --watch only`);
  }
  return {
    gateway,
    keyEnv,
    secrets,
    config,
    envPrefix,
    allowOverride,
    mode,
    watch,
    graceMs: integer(values['grace-ms'], 'grace-ms', 10_000, 0, 3_600_000),
    debounceMs: integer(values['debounce-ms'], 'debounce-ms', 500, 0, 60_000),
    timeoutMs: integer(values['timeout-ms'], 'timeout-ms', 10_000, 1, 600_000),
    command: command[0],
    args: command.slice(1),
  };
}

function parseFlags(flags: string[]) {
  return parseArgs({
    args: flags,
    strict: true,
    allowPositionals: true,
    options: {
      gateway: { type: 'string' },
      'key-env': { type: 'string' },
      secrets: { type: 'string', multiple: true },
      config: { type: 'string', multiple: true },
      'env-prefix': { type: 'string' },
      'allow-override': { type: 'string', multiple: true },
      mode: { type: 'string' },
      watch: { type: 'boolean' },
      'grace-ms': { type: 'string' },
      'debounce-ms': { type: 'string' },
      'timeout-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** `--secrets a --secrets b,c` → `[a, b, c]` (paths and keys never hold commas), without duplicates. */
function splitList(values: string[] | undefined): string[] {
  const out: string[] = [];
  for (const v of values ?? []) for (const item of v.split(',')) if (!out.includes(item.trim())) out.push(item.trim());
  return out;
}

function integer(value: string | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new CliUsageError(`--${flag} must be a whole number of milliseconds from ${min} to ${max}, not "${value}"`);
  return n;
}
