import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { createProject, createToken, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { REPO_DIR } from './support/sdk-package-harness';

// `flagstream run` from source (bundled once with esbuild), against the real admin API and
// gateway: the child prints a SHA-256 of what it got, and neither the files written during the
// run nor the CLI's own output hold a value.

jest.setTimeout(60_000);

const P = '/api/v1/projects/shop';
const S = (env: string) => `${P}/environments/${env}/secrets`;
const STRIPE = 'payments/stripe/api-key';
const DB = 'payments/db/password';
/** Every plaintext this file writes: none may appear in a file or in the CLI's output. */
const VALUES = {
  stripe1: 'sk_live_cliE2eFirst_5170',
  stripe2: 'sk_live_cliE2eSecond_6281',
  db: 'pg cli-e2e password\nwith "quotes" 7392',
  billing: 'billing-cli-e2e-token-8403',
  billing2: 'billing-cli-e2e-token-9514',
  dev1: 'dev-cli-e2e-stripe-1625',
  dev2: 'dev-cli-e2e-collide-2736',
  qaToken: 'qa-cli-e2e-token-3847',
  /** What an editor writes at node_options: code for any Node.js child that would get it as NODE_OPTIONS. */
  nodeOptions: "--import=data:text/javascript,console.log('cli-e2e-injected-4958')",
  ldPreload: '/tmp/cli-e2e-preload-5069.so',
  /** Not a secret: a variable the CLI inherits, which a secret would replace. */
  inherited: 'inherited-cli-e2e-value-6170',
};
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The child: gets its values the way `mode` delivers them and prints one JSON line with the
 * SHA-256 of each (never a value), the config values, and its environment's variable names.
 * With `stay`, it keeps running and says `{"term": pid}` when SIGTERM ends it.
 */
function childScript(mode: 'env' | 'pipe' | 'socket', stay = false): string {
  return `
const crypto = require('crypto'); const fs = require('fs'); const net = require('net');
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
const report = (doc) => {
  const hashes = {}; for (const [k, v] of Object.entries(doc.secrets)) hashes[k] = sha(v);
  console.log(JSON.stringify({ pid: process.pid, hashes, config: doc.config, env: Object.keys(process.env).sort() }));
  ${stay ? "process.on('SIGTERM', () => { console.log(JSON.stringify({ term: process.pid })); process.exit(0); }); setInterval(() => {}, 1000);" : ''}
};
const mode = ${JSON.stringify(mode)};
if (mode === 'env') {
  const secrets = {}; for (const [k, v] of Object.entries(process.env)) if (/PAYMENTS_|BILLING_/.test(k)) secrets[k] = v;
  const config = {}; for (const [k, v] of Object.entries(process.env)) if (/CHECKOUT_/.test(k)) config[k] = v;
  report({ secrets, config });
} else if (mode === 'pipe') {
  report(JSON.parse(fs.readFileSync(Number(process.env.FLAGSTREAM_SECRETS_FD), 'utf8')));
} else {
  let text = ''; const c = net.connect(process.env.FLAGSTREAM_SECRETS_SOCKET);
  c.on('data', (d) => (text += d)); c.on('end', () => report(JSON.parse(text)));
}
`;
}

interface ChildReport {
  pid: number;
  hashes: Record<string, string>;
  config: Record<string, unknown>;
  env: string[];
}

/** The variables the test gives the CLI besides the key: what every child also has. */
const BASE_ENV = ['FLAGSTREAM_GATEWAY_URL', 'PATH', 'TMPDIR'];

describe('flagstream run against the real admin API and gateway', () => {
  let h: AdminHarness;
  let owner: ApiClient;
  /** Writes secrets, cannot read them: the attacker of the loader-variable tests. */
  let editor: ApiClient;
  let gw: GatewayHarness;
  const gateways: GatewayHarness[] = [];
  /** Server keys (staging: granted payments/**; development: granted payments/**; qa-eu: granted **), a client key. */
  const keys = { staging: { id: '', key: '' }, development: { id: '', key: '' }, qa: { id: '', key: '' }, client: { id: '', key: '' } };
  /** The test's own directory: the CLI bundle, the children's working directory, their TMPDIR. */
  let work: string;
  let cli: string;
  let tmp: string;
  let cwd: string;
  /** Everything every CLI printed (its children's lines included). */
  const outputs: string[] = [];
  const running: ChildProcess[] = [];

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'flagstream-cli-e2e-'));
    cli = path.join(work, 'flagstream.js');
    tmp = path.join(work, 'tmp');
    cwd = path.join(work, 'cwd');
    await Promise.all([mkdir(tmp), mkdir(cwd)]);
    const bundled = build({
      absWorkingDir: REPO_DIR,
      entryPoints: ['libs/sdk/src/node/cli/flagstream.bin.ts'],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      tsconfig: 'libs/sdk/tsconfig.build.json',
      outfile: cli,
      logLevel: 'silent',
    });
    h = await startAdmin();
    owner = h.api(h.ownerToken);
    await createProject(h, 'shop');
    const put = async (env: string, p: string, value: string) => expect((await owner.put(`${S(env)}/${p}`, { value })).status).toBe(200);
    await put('staging', STRIPE, VALUES.stripe1);
    await put('staging', DB, VALUES.db);
    await put('staging', 'billing/token', VALUES.billing);
    // Two paths that map to one variable name, PAYMENTS_STRIPE_API_KEY.
    await put('development', STRIPE, VALUES.dev1);
    await put('development', 'payments/stripe-api/key', VALUES.dev2);
    for (const [name, env, kind] of [['staging', 'staging', 'server'], ['development', 'development', 'server'], ['client', 'staging', 'client']] as const) {
      const res = await owner.post(`${P}/environments/${env}/sdk-keys`, { kind, name });
      expect(res.status).toBe(201);
      keys[name] = { id: res.body.id, key: res.body.key };
    }
    for (const env of ['staging', 'development'] as const) {
      const policy = await owner.post(`${P}/secret-policies`, { subject: { type: 'sdk-key', id: keys[env].id }, paths: ['payments/**'], environments: [env] });
      expect(policy.status).toBe(201);
    }
    // qa-eu inherits qa; its key reads every path (**), secrets written in qa included.
    for (const [env, parent] of [['qa', undefined], ['qa-eu', 'qa']] as const) {
      expect((await owner.post(`${P}/environments`, { key: env, name: env, protected: false, parent })).status).toBe(201);
    }
    await put('qa-eu', 'payments/qa-token', VALUES.qaToken);
    const qaKey = await owner.post(`${P}/environments/qa-eu/sdk-keys`, { kind: 'server', name: 'qa-eu' });
    expect(qaKey.status).toBe(201);
    keys.qa = { id: qaKey.body.id, key: qaKey.body.key };
    expect((await owner.post(`${P}/secret-policies`, { subject: { type: 'sdk-key', id: keys.qa.id }, paths: ['**'], environments: ['qa-eu'] })).status).toBe(201);
    editor = h.api(await createToken(h, 'editor', 'shop'));
    const limits = { type: 'object', properties: { maxItems: { type: 'integer', minimum: 1 } }, required: ['maxItems'] };
    expect((await owner.post(`${P}/configs`, { key: 'checkout.limits', schema: limits, default: { maxItems: 20 } })).status).toBe(201);
    expect((await owner.put(`${P}/configs/checkout.limits/environments/staging`, { value: { maxItems: 50 } })).status).toBe(200);
    gw = await startGateway(h);
    await bundled;
  }, 90_000);

  afterAll(async () => {
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const g of [...gateways, gw]) await g?.close();
    await h?.close();
    await rm(work, { recursive: true, force: true });
  }, 30_000);

  interface CliRun {
    process: ChildProcess;
    stdout: string;
    stderr: string;
    /** The child's JSON lines so far. */
    lines(): Array<Record<string, unknown>>;
    done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  }

  /** Starts the CLI (`node flagstream.js run …args`) with the staging key in FLAGSTREAM_SDK_KEY unless `env` says otherwise (undefined removes a variable). */
  function startCli(args: string[], env: Record<string, string | undefined> = {}): CliRun {
    const full: Record<string, string> = {};
    for (const [k, v] of Object.entries({ PATH: process.env.PATH, TMPDIR: tmp, FLAGSTREAM_GATEWAY_URL: gw.url, FLAGSTREAM_SDK_KEY: keys.staging.key, ...env })) {
      if (v !== undefined) full[k] = v;
    }
    const child = spawn(process.execPath, [cli, 'run', ...args], { cwd, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(child);
    const run: CliRun = {
      process: child,
      stdout: '',
      stderr: '',
      lines: () => run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
      done: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
    };
    child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
    void run.done.then(() => outputs.push(run.stdout, run.stderr));
    return run;
  }

  async function runCli(args: string[], env: Record<string, string | undefined> = {}) {
    const run = startCli(args, env);
    const { code } = await run.done;
    return { code, stdout: run.stdout, stderr: run.stderr, lines: run.lines() };
  }

  const expectNoValue = (text: string) => {
    for (const value of Object.values(VALUES)) expect(text).not.toContain(value);
  };

  it('env mode: the child gets every secret the key reads as variables, and not the key', async () => {
    const r = await runCli(['--', process.execPath, '-e', childScript('env')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.lines).toHaveLength(1);
    const got = r.lines[0] as unknown as ChildReport;
    expect(got.hashes).toEqual({ PAYMENTS_STRIPE_API_KEY: sha(VALUES.stripe1), PAYMENTS_DB_PASSWORD: sha(VALUES.db) });
    // billing/token is outside the grant; the key's variable is gone.
    expect(got.env).toEqual([...BASE_ENV, 'PAYMENTS_DB_PASSWORD', 'PAYMENTS_STRIPE_API_KEY'].sort());
    expectNoValue(r.stdout + r.stderr);
  });

  it('env mode with --secrets, --config, --env-prefix and --key-env', async () => {
    const r = await runCli(
      ['--secrets', 'payments/stripe/*', '--config', 'checkout.limits', '--env-prefix', 'APP_', '--key-env', 'MY_FS_KEY', '--', process.execPath, '-e', childScript('env')],
      { FLAGSTREAM_SDK_KEY: undefined, MY_FS_KEY: keys.staging.key },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = r.lines[0] as unknown as ChildReport;
    expect(got.hashes).toEqual({ APP_PAYMENTS_STRIPE_API_KEY: sha(VALUES.stripe1) });
    expect(got.config).toEqual({ APP_CHECKOUT_LIMITS: '{"maxItems":50}' });
    expect(got.env).toEqual([...BASE_ENV, 'APP_CHECKOUT_LIMITS', 'APP_PAYMENTS_STRIPE_API_KEY'].sort());
    expect(got.env).not.toContain('MY_FS_KEY');
  });

  it('pipe mode: one JSON document on FLAGSTREAM_SECRETS_FD, no values in the environment', async () => {
    const r = await runCli(['--mode', 'pipe', '--config', 'checkout.limits', '--', process.execPath, '-e', childScript('pipe')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = r.lines[0] as unknown as ChildReport;
    expect(got.hashes).toEqual({ [DB]: sha(VALUES.db), [STRIPE]: sha(VALUES.stripe1) });
    expect(got.config).toEqual({ 'checkout.limits': { maxItems: 50 } });
    expect(got.env).toEqual([...BASE_ENV, 'FLAGSTREAM_SECRETS_FD'].sort());
    expectNoValue(r.stdout + r.stderr);
  });

  it('socket mode: served once over a Unix socket in a private directory, removed afterwards', async () => {
    const r = await runCli(['--mode', 'socket', '--secrets', STRIPE, '--', process.execPath, '-e', childScript('socket')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = r.lines[0] as unknown as ChildReport;
    expect(got.hashes).toEqual({ [STRIPE]: sha(VALUES.stripe1) });
    expect(got.config).toEqual({});
    expect(got.env).toEqual([...BASE_ENV, 'FLAGSTREAM_SECRETS_SOCKET'].sort());
    expect(await readdir(tmp)).toEqual([]);
  });

  it("exits with the child's exit code, or 128 + the signal that ended it", async () => {
    expect((await runCli(['--', process.execPath, '-e', 'process.exit(7)'])).code).toBe(7);
    expect((await runCli(['--', process.execPath, '-e', "process.kill(process.pid, 'SIGKILL')"])).code).toBe(137);
    expect((await runCli(['--mode', 'pipe', '--', 'sh', '-c', 'exit 3'])).code).toBe(3);
  });

  it('forwards SIGTERM to the child and exits with its code', async () => {
    const run = startCli(['--', process.execPath, '-e', childScript('env', true)]);
    const first = await eventually(async () => run.lines()[0], 10_000);
    run.process.kill('SIGTERM');
    expect(await run.done).toEqual({ code: 0, signal: null });
    expect(run.lines()).toEqual([first, { term: first.pid }]);
  });

  it('--watch: a new version restarts the child (SIGTERM) with the new value; writes outside the selection do not', async () => {
    const run = startCli(['--watch', '--debounce-ms', '100', '--grace-ms', '2000', '--mode', 'pipe', '--', process.execPath, '-e', childScript('pipe', true)]);
    const first = (await eventually(async () => run.lines()[0], 10_000)) as unknown as ChildReport;
    expect(first.hashes[STRIPE]).toBe(sha(VALUES.stripe1));
    expect((await owner.put(`${S('staging')}/${STRIPE}`, { value: VALUES.stripe2 })).status).toBe(200);
    const lines = await eventually(async () => (run.lines().length >= 3 ? run.lines() : null), 10_000);
    expect(lines[1]).toEqual({ term: first.pid });
    const second = lines[2] as unknown as ChildReport;
    expect(second.pid).not.toBe(first.pid);
    expect(second.hashes).toEqual({ [DB]: sha(VALUES.db), [STRIPE]: sha(VALUES.stripe2) });
    expect(run.stderr).toBe('flagstream run: values changed: restarting the child (SIGTERM, then SIGKILL after 2000 ms)\n');
    // A secret the key cannot read changes: a notice, a read, the same values: no restart.
    expect((await owner.put(`${S('staging')}/billing/token`, { value: VALUES.billing2 })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(run.lines()).toHaveLength(3);
    run.process.kill('SIGTERM');
    expect(await run.done).toEqual({ code: 0, signal: null });
    expect(run.lines()[3]).toEqual({ term: second.pid });
    expectNoValue(run.stdout + run.stderr);
  });

  it('refuses, with exit code 2, usage errors and a missing key', async () => {
    const missing = await runCli(['--', 'true'], { FLAGSTREAM_SDK_KEY: undefined });
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toBe(
      'flagstream run: no SDK key: set FLAGSTREAM_SDK_KEY to a server SDK key (fs_server_…) of the environment to run with (it is read from the environment only, never from the command line)\n',
    );
    const bad = await runCli(['--mode', 'disk', '--', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('flagstream run: --mode must be env, pipe or socket, not "disk"\n(flagstream run --help lists the options)\n');
    const noCommand = await runCli(['--watch']);
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toMatch(/^flagstream run: no command: put it after "--"/);
  });

  it('refuses a client key (403) with exit code 1, saying a server key is needed', async () => {
    const r = await runCli(['--', 'true'], { FLAGSTREAM_SDK_KEY: keys.client.key });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^flagstream run: the gateway refused the SDK key \(.*\); not retrying \(HTTP 403\): flagstream run needs a server SDK key \(fs_server_…\): client keys can never read secrets\n$/);
    expect(r.stderr).not.toContain(keys.client.key);
  });

  it('refuses a gateway that does not serve secrets (503), and one that does not answer', async () => {
    const bare = await startGateway(h);
    gateways.push(bare);
    delete bare.runtime.deps.secrets;
    const r = await runCli(['--gateway', bare.url, '--', 'true']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'flagstream run: the gateway does not serve secrets (gateway answered 503: this gateway does not serve secrets: it needs FLAGSTREAM_AUDIT_KEY and FLAGSTREAM_KEK (docs/secrets.md))\n',
    );
    // A port nothing listens on (taken, then released).
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as AddressInfo;
        server.close(() => resolve(p));
      });
    });
    const down = await runCli(['--gateway', `http://127.0.0.1:${port}`, '--timeout-ms', '1500', '--', 'true']);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`flagstream run: no usable answer from the gateway at http://127.0.0.1:${port} within 1500 ms (--timeout-ms); last error: fetch failed (ECONNREFUSED)\n`);
  });

  it('refuses patterns that match nothing, colliding names, and a command that does not exist, with exit code 1', async () => {
    const unknown = await runCli(['--secrets', 'payments/**,billing/*', '--', 'true']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`flagstream run: --secrets "billing/*" matches none of the secrets this SDK key reads (it reads ${DB}, ${STRIPE})\n`);
    const unknownConfig = await runCli(['--config', 'checkout.nope', '--', 'true']);
    expect(unknownConfig.code).toBe(1);
    expect(unknownConfig.stderr).toBe(`flagstream run: --config "checkout.nope": the SDK key's environment has no config item "checkout.nope" with a value\n`);
    const collision = await runCli(['--', 'true'], { FLAGSTREAM_SDK_KEY: keys.development.key });
    expect(collision.code).toBe(1);
    expect(collision.stderr).toBe(
      'flagstream run: secret "payments/stripe-api/key" and secret "payments/stripe/api-key" both map to the environment variable PAYMENTS_STRIPE_API_KEY: select one of them with --secrets/--config, or use --mode pipe (which keeps paths)\n',
    );
    // The same secrets through a pipe keep their paths: no collision.
    const piped = await runCli(['--mode', 'pipe', '--', process.execPath, '-e', childScript('pipe')], { FLAGSTREAM_SDK_KEY: keys.development.key });
    expect(piped.code).toBe(0);
    expect((piped.lines[0] as unknown as ChildReport).hashes).toEqual({ 'payments/stripe-api/key': sha(VALUES.dev2), [STRIPE]: sha(VALUES.dev1) });
    const enoent = await runCli(['--', 'flagstream-e2e-no-such-program']);
    expect(enoent.code).toBe(1);
    expect(enoent.stderr).toBe('flagstream run: cannot start "flagstream-e2e-no-such-program": no such program (ENOENT)\n');
  });

  it('refuses to start the child when a secret an editor wrote (in a parent environment) maps to NODE_OPTIONS', async () => {
    expect((await editor.put(`${S('qa')}/node_options`, { value: VALUES.nodeOptions })).status).toBe(200);
    const child = [process.execPath, '-e', childScript('env')];
    const refused = await runCli(['--', ...child], { FLAGSTREAM_SDK_KEY: keys.qa.key });
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(
      'flagstream run: secret "node_options" maps to the environment variable NODE_OPTIONS, which changes how programs load or run, so flagstream run never sets it (whoever can write the secret could run code in the child): pass --env-prefix, leave it out with --secrets, or use --mode pipe\n',
    );
    expectNoValue(refused.stderr);
    // Not even with --allow-override (a usage error: exit 2).
    const forced = await runCli(['--allow-override', 'NODE_OPTIONS', '--', ...child], { FLAGSTREAM_SDK_KEY: keys.qa.key });
    expect(forced).toMatchObject({ code: 2, stdout: '' });
    expect(forced.stderr).toMatch(/^flagstream run: --allow-override NODE_OPTIONS: NODE_OPTIONS changes how programs load or run, so flagstream run never sets it from a value/);
    // A prefix makes it a harmless name; a pipe keeps it a path. Either way the child runs its own code only.
    const prefixed = await runCli(['--env-prefix', 'APP_', '--', ...child], { FLAGSTREAM_SDK_KEY: keys.qa.key });
    expect(prefixed.stderr).toBe('');
    expect(prefixed.code).toBe(0);
    expect(prefixed.stdout).not.toContain('cli-e2e-injected');
    expect((prefixed.lines[0] as unknown as ChildReport).env).toEqual([...BASE_ENV, 'APP_NODE_OPTIONS', 'APP_PAYMENTS_QA_TOKEN'].sort());
    const piped = await runCli(['--mode', 'pipe', '--', process.execPath, '-e', childScript('pipe')], { FLAGSTREAM_SDK_KEY: keys.qa.key });
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    expect(piped.stdout).not.toContain('cli-e2e-injected');
    const got = piped.lines[0] as unknown as ChildReport;
    expect(got.hashes).toEqual({ node_options: sha(VALUES.nodeOptions), 'payments/qa-token': sha(VALUES.qaToken) });
    expect(got.env).toEqual([...BASE_ENV, 'FLAGSTREAM_SECRETS_FD'].sort());
    expect((await editor.delete(`${S('qa')}/node_options`)).status).toBe(200);
  });

  it('--watch: a change that now maps to LD_PRELOAD keeps the child running and says why; a new run refuses to start', async () => {
    const run = startCli(['--watch', '--debounce-ms', '100', '--', process.execPath, '-e', childScript('env', true)], { FLAGSTREAM_SDK_KEY: keys.qa.key });
    const first = (await eventually(async () => run.lines()[0], 10_000)) as unknown as ChildReport;
    expect(first.hashes).toEqual({ PAYMENTS_QA_TOKEN: sha(VALUES.qaToken) });
    expect(first.env).not.toContain('NODE_OPTIONS');
    expect((await editor.put(`${S('qa')}/ld_preload`, { value: VALUES.ldPreload })).status).toBe(200);
    const refusal =
      'flagstream run: not restarting: secret "ld_preload" maps to the environment variable LD_PRELOAD, which changes how programs load or run, so flagstream run never sets it (whoever can write the secret could run code in the child): pass --env-prefix, leave it out with --secrets, or use --mode pipe; the child keeps the values it has\n';
    await eventually(async () => run.stderr.includes(refusal), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(run.stderr).toBe(refusal);
    expect(run.lines()).toHaveLength(1);
    run.process.kill('SIGTERM');
    expect(await run.done).toEqual({ code: 0, signal: null });
    expect(run.lines()).toEqual([first, { term: first.pid }]);
    const fresh = await runCli(['--', 'true'], { FLAGSTREAM_SDK_KEY: keys.qa.key });
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(/^flagstream run: secret "ld_preload" maps to the environment variable LD_PRELOAD, which changes how programs load or run/);
    expectNoValue(run.stdout + run.stderr + fresh.stderr);
  });

  it('refuses a secret whose variable is already set in its environment, unless --allow-override names it', async () => {
    const child = [process.execPath, '-e', childScript('env')];
    const env = { PAYMENTS_DB_PASSWORD: VALUES.inherited };
    const refused = await runCli(['--', ...child], env);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(
      "flagstream run: secret \"payments/db/password\" maps to the environment variable PAYMENTS_DB_PASSWORD, which is already set in flagstream run's environment and would be replaced: pass --allow-override PAYMENTS_DB_PASSWORD to replace it, pass --env-prefix, or use --mode pipe\n",
    );
    expectNoValue(refused.stderr);
    const allowed = await runCli(['--allow-override', 'PAYMENTS_DB_PASSWORD', '--', ...child], env);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect((allowed.lines[0] as unknown as ChildReport).hashes.PAYMENTS_DB_PASSWORD).toBe(sha(VALUES.db));
    // The pipe sets no variable from a value: nothing to replace, nothing to check.
    const piped = await runCli(['--mode', 'pipe', '--', process.execPath, '-e', childScript('pipe')], env);
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    expect((piped.lines[0] as unknown as ChildReport).hashes[DB]).toBe(sha(VALUES.db));
  });

  // Last: it looks at what the tests above left behind.
  it('leaves no value in any file written during the run, nor in anything the CLIs printed', async () => {
    expect(outputs.length).toBeGreaterThanOrEqual(2 * 20);
    for (const text of outputs) expectNoValue(text);
    // The test's directory: the bundle, the children's working directory, and their TMPDIR
    // (where os.tmpdir() points the CLI and the children, so anything they wrote lands here).
    const files = await filesUnder(work);
    expect(files.length).toBeGreaterThan(0);
    expect(files).toContain(cli);
    for (const file of files) {
      const text = await readFile(file);
      for (const value of Object.values(VALUES)) expect({ file, found: text.includes(value) }).toEqual({ file, found: false });
    }
  });
});

/** Every file under `dir`, recursively (anything that is not a directory: a file, a socket, a link). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}
