import { CLI_USAGE, main } from './flagstream.cli';
import { RUN_USAGE } from './run-args.parser';
import type { CliIo } from './run.command';

/** Runs the CLI in-process with captured output (these paths end before any network or child). */
async function cli(argv: string[], env: Record<string, string> = {}) {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    env,
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    onSignal: () => () => undefined,
  };
  const code = await main(argv, io);
  return { code, ...out };
}

describe('flagstream (the bin)', () => {
  it('prints its commands for --help (exit 0), and without a command or for an unknown one (exit 2)', async () => {
    expect(await cli(['--help'])).toEqual({ code: 0, stdout: CLI_USAGE, stderr: '' });
    expect(await cli([])).toEqual({ code: 2, stdout: '', stderr: CLI_USAGE });
    expect(await cli(['deploy'])).toEqual({ code: 2, stdout: '', stderr: `flagstream: unknown command "deploy"\n${CLI_USAGE}` });
  });

  it('run --help prints the options', async () => {
    const r = await cli(['run', '--help']);
    expect(r).toEqual({ code: 0, stdout: `${RUN_USAGE}\n`, stderr: '' });
    for (const flag of ['--gateway', '--key-env', '--secrets', '--config', '--env-prefix', '--allow-override', '--mode', '--watch', '--grace-ms', '--debounce-ms', '--timeout-ms']) {
      expect(r.stdout).toContain(`  ${flag} `);
    }
  });

  it('run: a usage error exits 2 with the reason and a pointer to --help', async () => {
    expect(await cli(['run', '--mode', 'disk', '--', 'x'], { FLAGSTREAM_GATEWAY_URL: 'http://gw' })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'flagstream run: --mode must be env, pipe or socket, not "disk"\n(flagstream run --help lists the options)\n',
    });
  });

  it('run: no key in the variable exits 2, naming the variable (the default one, or --key-env)', async () => {
    const r = await cli(['run', '--', 'x'], { FLAGSTREAM_GATEWAY_URL: 'http://gw', FLAGSTREAM_SDK_KEY: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'flagstream run: no SDK key: set FLAGSTREAM_SDK_KEY to a server SDK key (fs_server_…) of the environment to run with (it is read from the environment only, never from the command line)\n',
    );
    const other = await cli(['run', '--key-env', 'SVC_KEY', '--', 'x'], { FLAGSTREAM_GATEWAY_URL: 'http://gw', FLAGSTREAM_SDK_KEY: 'fs_server_elsewhere' });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^flagstream run: no SDK key: set SVC_KEY to/);
  });
});
