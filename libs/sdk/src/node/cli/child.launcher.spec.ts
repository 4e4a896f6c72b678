import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChild, SECRETS_FD_ENV, SECRETS_SOCKET_ENV } from './child.launcher';
import { CliRunError } from './cli.errors';

// Real processes (node -e): what the child receives in each mode. Its stdio is inherited (as in
// the CLI), so a child reports what it found in a file of the test's temporary directory.

const PAYLOAD = '{"secrets":{"db/password":"pw-launcher-spec-4417"},"config":{"checkout.on":true}}';

describe('launchChild', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-launcher-spec-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `script` in a node child; it writes its findings to `out` (given as argv[1]); returns them and its status. */
  async function runChild(script: string, spec: Partial<Parameters<typeof launchChild>[0]>) {
    const out = join(dir, 'out.json');
    const child = await launchChild({ command: process.execPath, args: ['-e', script, out], env: { PATH: process.env.PATH }, mode: 'env', ...spec });
    const status = await child.exited;
    return { status, out: JSON.parse(await readFile(out, 'utf8')) as Record<string, unknown> };
  }

  it('env mode: the child gets the environment it is given, nothing else', async () => {
    const { status, out } = await runChild(
      `require('fs').writeFileSync(process.argv[1], JSON.stringify({ pw: process.env.DB_PASSWORD, fd: process.env.${SECRETS_FD_ENV} ?? null, extra: Object.keys(process.env).filter((k) => k !== 'PATH' && k !== 'DB_PASSWORD') }))`,
      { env: { PATH: process.env.PATH, DB_PASSWORD: 'pw-env' } },
    );
    expect(status).toEqual({ code: 0, signal: null });
    // Node may add nothing of its own; the launcher adds nothing in env mode.
    expect(out).toEqual({ pw: 'pw-env', fd: null, extra: [] });
  });

  it('pipe mode: one JSON document on fd 3 (named by FLAGSTREAM_SECRETS_FD), read to end of file', async () => {
    const { status, out } = await runChild(
      `const fs = require('fs'); const fd = Number(process.env.${SECRETS_FD_ENV}); const text = fs.readFileSync(fd, 'utf8');
       let again = ''; try { again = fs.readFileSync(fd, 'utf8'); } catch (e) { again = e.code; }
       fs.writeFileSync(process.argv[1], JSON.stringify({ fd, doc: JSON.parse(text), again }))`,
      { mode: 'pipe', payload: PAYLOAD },
    );
    expect(status).toEqual({ code: 0, signal: null });
    // A second read finds the pipe empty: the document is served once.
    expect(out).toEqual({ fd: 3, doc: JSON.parse(PAYLOAD), again: '' });
  });

  it('pipe mode: a child that never reads the pipe does not break the launcher', async () => {
    const child = await launchChild({ command: process.execPath, args: ['-e', 'process.exit(4)'], env: { PATH: process.env.PATH }, mode: 'pipe', payload: 'x'.repeat(1 << 20) });
    expect(await child.exited).toEqual({ code: 4, signal: null });
  });

  it('socket mode: the first connection gets the document, the socket is gone afterwards, and the directory is removed', async () => {
    const { status, out } = await runChild(
      `const net = require('net'); const fs = require('fs'); const path = process.env.${SECRETS_SOCKET_ENV};
       const dirMode = (fs.statSync(require('path').dirname(path)).mode & 0o777).toString(8);
       const sockMode = (fs.statSync(path).mode & 0o777).toString(8);
       const c = net.connect(path); let text = '';
       c.on('data', (d) => (text += d)); c.on('end', () => {
         const second = net.connect(path); second.on('error', (e) => {
           fs.writeFileSync(process.argv[1], JSON.stringify({ path, dirMode, sockMode, doc: JSON.parse(text), second: e.code, exists: fs.existsSync(path) }));
         });
         second.on('connect', () => { fs.writeFileSync(process.argv[1], JSON.stringify({ second: 'connected' })); });
       });`,
      { mode: 'socket', payload: PAYLOAD, socketParent: dir },
    );
    expect(status).toEqual({ code: 0, signal: null });
    expect(out).toMatchObject({ dirMode: '700', sockMode: '600', doc: JSON.parse(PAYLOAD), exists: false });
    expect(['ENOENT', 'ECONNREFUSED']).toContain(out.second);
    expect(String(out.path).startsWith(join(dir, 'flagstream-'))).toBe(true);
    // Only the child's own output file is left: the socket's directory is gone.
    expect(await readdir(dir)).toEqual(['out.json']);
  });

  it('socket mode: the directory is removed when the child exits without connecting, and a late connection fails', async () => {
    const child = await launchChild({ command: process.execPath, args: ['-e', 'process.exit(0)'], env: { PATH: process.env.PATH }, mode: 'socket', payload: PAYLOAD, socketParent: dir });
    const entries = await readdir(dir);
    expect(entries).toHaveLength(1);
    const socketPath = join(dir, entries[0], 'secrets.sock');
    expect((await stat(socketPath)).isSocket()).toBe(true);
    await child.exited;
    for (let i = 0; i < 50 && (await readdir(dir)).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await readdir(dir)).toEqual([]);
    const error = await new Promise<string>((resolve) => connect(socketPath).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')).on('connect', () => resolve('connected')));
    expect(error).toBe('ENOENT');
  });

  it('refuses a command that does not exist, naming the command only, and leaves no socket behind', async () => {
    const start = launchChild({ command: 'flagstream-no-such-program', args: [], env: { PATH: process.env.PATH }, mode: 'socket', payload: PAYLOAD, socketParent: dir });
    await expect(start).rejects.toEqual(new CliRunError('cannot start "flagstream-no-such-program": no such program (ENOENT)'));
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an environment Node will not pass, without quoting it', async () => {
    const start = launchChild({ command: process.execPath, args: ['-e', ''], env: { BAD: 'pw\0secret-in-env' }, mode: 'env' });
    const error = await start.catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(CliRunError);
    expect((error as Error).message).toBe(`cannot start "${process.execPath}": ERR_INVALID_ARG_VALUE`);
  });

  it('kill() signals a running child and is harmless once it is gone', async () => {
    const child = await launchChild({ command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], env: { PATH: process.env.PATH }, mode: 'env' });
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
    child.kill('SIGKILL'); // gone: nothing is sent (and nothing throws)
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
  });
});
