import { constants } from 'node:os';
import { FlagstreamAuthError, FlagstreamClient, FlagstreamSecretsError } from '../../index';
import { SECRETS_FD_ENV, SECRETS_SOCKET_ENV, launchChild } from './child.launcher';
import { ChildSupervisor, exitCodeOf } from './child.supervisor';
import { CliRunError, CliUsageError } from './cli.errors';
import { environmentFor } from './env-names';
import { RUN_USAGE, parseRunArgs, type RunOptions } from './run-args.parser';
import { sameValues, secretsPayload, type RunValues } from './run-values';
import { selectSecrets } from './secret-pattern';

/** What the CLI talks to: its environment, its output streams and the signals it forwards. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Subscribes to the signals to forward to the child; returns the unsubscribe. Default: the process's SIGINT, SIGTERM, SIGHUP. */
  onSignal?(listener: (signal: NodeJS.Signals) => void): () => void;
  /** Where `--mode socket` makes its private directory (default: the system's temporary directory). */
  socketParent?: string;
}

/** The signals `flagstream run` forwards to its child: SIGINT and SIGTERM end the run, SIGHUP passes through. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** One read of the values, with the variables `--mode env` sets from them (checked by `environmentFor`). */
interface Prepared {
  values: RunValues;
  env: Record<string, string> | null;
}

/**
 * `flagstream run [options] -- <command> [args...]`: connects with the server SDK key from the
 * environment, waits for the secrets (and config items), starts the command with them and
 * returns the exit code to end with: the child's, 2 for a usage error, 1 when the run cannot go
 * on. Nothing is written to disk; messages (stderr, prefixed `flagstream run:`) name paths,
 * flags and variables, never a value or the key.
 */
export async function runCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const say = (message: string) => io.stderr(`flagstream run: ${message}\n`);
  let parsed: RunOptions | 'help';
  try {
    parsed = parseRunArgs(argv, io.env);
  } catch (e) {
    if (!(e instanceof CliUsageError)) throw e;
    say(e.message);
    io.stderr('(flagstream run --help lists the options)\n');
    return e.exitCode;
  }
  if (parsed === 'help') {
    io.stdout(`${RUN_USAGE}\n`);
    return 0;
  }
  const options = parsed;
  const sdkKey = io.env[options.keyEnv];
  if (!sdkKey) {
    say(`no SDK key: set ${options.keyEnv} to a server SDK key (fs_server_…) of the environment to run with (it is read from the environment only, never from the command line)`);
    return 2;
  }
  // The child never sees the key, nor hand-over variables of an outer run.
  const childEnv: Record<string, string | undefined> = { ...io.env };
  for (const name of [options.keyEnv, SECRETS_FD_ENV, SECRETS_SOCKET_ENV]) delete childEnv[name];

  // Set from callbacks (signals, client events), read after awaits.
  const state = {
    supervisor: null as ChildSupervisor<Prepared> | null,
    /** A signal that came before the child was started: the run ends without starting it. */
    early: null as NodeJS.Signals | null,
    wake: null as (() => void) | null,
    lastError: null as Error | null,
    /** The child runs with --watch: client errors are worth telling the user. */
    following: false,
  };
  const stopSignals = (io.onSignal ?? processSignals)((signal) => {
    if (state.supervisor) {
      state.supervisor.signal(signal, signal !== 'SIGHUP');
      return;
    }
    state.early ??= signal;
    state.wake?.();
  });
  const client = new FlagstreamClient({ sdkKey, baseUrl: options.gateway, secrets: true });
  client.on('error', (error, fatal) => {
    state.lastError = error;
    if (!state.following) return;
    say(fatal ? `stopped following the gateway: ${error.message}; the child keeps the values it has` : `warning: ${error.message}`);
  });
  try {
    const interrupted = new Promise<'signal'>((resolve) => (state.wake = () => resolve('signal')));
    try {
      if ((await Promise.race([client.ready(options.timeoutMs), interrupted])) === 'signal') return signalExitCode(state.early);
    } catch (e) {
      say(readyFailure(e, options, state.lastError));
      return 1;
    }
    if (state.early) return signalExitCode(state.early);

    if (client.secretPaths().length === 0 && options.secrets.length === 0) {
      say('this SDK key reads no secrets: no secret policy grants it a path in its environment (docs/secrets.md); starting the command without any');
    }
    const reserved = [options.keyEnv, SECRETS_FD_ENV, SECRETS_SOCKET_ENV];
    const read = (): Prepared => {
      const values = readValues(client, options);
      if (options.mode !== 'env') return { values, env: null };
      // Checked on every read, so that with --watch a change that now maps to a denied or an
      // inherited name keeps the running child (the supervisor reports why) instead of starting one.
      const env = environmentFor(values, {
        prefix: options.envPrefix,
        reserved,
        inherited: childEnv,
        allowOverride: options.allowOverride,
        ignoreCase: process.platform === 'win32',
      });
      return { values, env };
    };
    const supervisor = new ChildSupervisor<Prepared>({
      read,
      same: (a, b) => sameValues(a.values, b.values),
      start: async (prepared) => {
        const child = await launchChild({
          command: options.command,
          args: options.args,
          env: prepared.env ? { ...childEnv, ...prepared.env } : childEnv,
          mode: options.mode,
          payload: options.mode === 'env' ? undefined : secretsPayload(prepared.values),
          socketParent: io.socketParent,
        });
        // Without --watch the values are not needed any more: let go of the gateway.
        if (!options.watch) await client.close();
        return child;
      },
      watch: options.watch,
      graceMs: options.graceMs,
      debounceMs: options.debounceMs,
      report: say,
    });
    state.supervisor = supervisor;
    if (options.watch) {
      client.on('secretChange', () => supervisor.changed());
      client.on('configChange', (keys) => {
        if (keys.some((k) => options.config.includes(k))) supervisor.changed();
      });
      state.following = true;
    }
    try {
      return exitCodeOf(await supervisor.run());
    } catch (e) {
      if (!(e instanceof CliRunError)) throw e;
      say(e.message);
      return e.exitCode;
    }
  } finally {
    state.following = false;
    stopSignals();
    await client.close();
  }
}

/** The values to deliver now, as the options select them; throws a `CliRunError` naming what is missing. */
function readValues(client: FlagstreamClient, options: RunOptions): RunValues {
  const paths = client.secretPaths();
  const { selected, unmatched } = selectSecrets(paths, options.secrets);
  if (unmatched.length > 0) {
    const flags = unmatched.map((p) => `--secrets "${p}"`).join(', ');
    throw new CliRunError(`${flags} ${unmatched.length === 1 ? 'matches' : 'match'} none of the secrets this SDK key reads (${describePaths(paths)})`);
  }
  const secrets = new Map<string, string>();
  for (const path of selected) {
    const value = client.secret(path);
    if (value !== undefined) secrets.set(path, value);
  }
  const config = new Map<string, unknown>();
  for (const key of options.config) {
    const detail = client.configDetail<unknown>(key, {}, undefined);
    if (detail.errorCode === 'FLAG_NOT_FOUND') throw new CliRunError(`--config "${key}": the SDK key's environment has no config item "${key}" with a value`);
    if (detail.errorCode) throw new CliRunError(`--config "${key}": ${detail.errorMessage ?? detail.errorCode}`);
    config.set(key, detail.value);
  }
  return { secrets, config };
}

function describePaths(paths: readonly string[]): string {
  if (paths.length === 0) return 'it reads none: no secret policy grants it a path in its environment';
  const shown = paths.slice(0, 20).join(', ');
  return `it reads ${shown}${paths.length > 20 ? ` and ${paths.length - 20} more` : ''}`;
}

/** Why `ready()` failed, for the user: the SDK's messages carry the gateway's text and status, never a value. */
function readyFailure(error: unknown, options: RunOptions, lastError: Error | null): string {
  if (error instanceof FlagstreamAuthError) {
    const hint =
      error.status === 403
        ? `flagstream run needs a server SDK key (fs_server_…): client keys can never read secrets`
        : `the key in ${options.keyEnv} is unknown, revoked or expired`;
    return `${error.message} (HTTP ${error.status}): ${hint}`;
  }
  if (error instanceof FlagstreamSecretsError) return error.message;
  let origin = options.gateway;
  try {
    origin = new URL(options.gateway).origin;
  } catch {
    // parseRunArgs checked it
  }
  // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, "bad port"…) is its cause.
  const why = lastError?.cause instanceof Error ? ((lastError.cause as NodeJS.ErrnoException).code ?? lastError.cause.message) : undefined;
  const cause = lastError ? `; last error: ${lastError.message}${why ? ` (${why})` : ''}` : '';
  return `no usable answer from the gateway at ${origin} within ${options.timeoutMs} ms (--timeout-ms)${cause}`;
}

function signalExitCode(signal: NodeJS.Signals | null): number {
  const n = signal ? constants.signals[signal] : undefined;
  return n === undefined ? 1 : 128 + n;
}

function processSignals(listener: (signal: NodeJS.Signals) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => listener(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
