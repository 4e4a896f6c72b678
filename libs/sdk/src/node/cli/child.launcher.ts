import { spawn, type StdioOptions } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { ExitStatus, SupervisedChild } from './child.supervisor';
import { CliRunError } from './cli.errors';
import type { DeliveryMode } from './run-args.parser';

/** The variable naming the child's file descriptor with the values (`--mode pipe`). */
export const SECRETS_FD_ENV = 'FLAGSTREAM_SECRETS_FD';
/** The variable naming the Unix socket with the values (`--mode socket`). */
export const SECRETS_SOCKET_ENV = 'FLAGSTREAM_SECRETS_SOCKET';
/** The child's file descriptor for `--mode pipe`: the first after stdin, stdout and stderr. */
const PIPE_FD = 3;

/** One child to start and how it gets its values. */
export interface LaunchSpec {
  command: string;
  args: readonly string[];
  /** The child's environment: the CLI's own without the SDK key, plus (`env` mode) the values. */
  env: Record<string, string | undefined>;
  mode: DeliveryMode;
  /** The JSON document for `pipe` and `socket` modes (`secretsPayload`). */
  payload?: string;
  /** Where `socket` mode makes its private directory. Default: the system's temporary directory. */
  socketParent?: string;
}

/**
 * Starts the child with stdin, stdout and stderr inherited, and hands it the values:
 *
 * - `env`: they are already in `spec.env`.
 * - `pipe`: file descriptor 3 is a pipe whose number the child finds in `FLAGSTREAM_SECRETS_FD`;
 *   the CLI writes the document and closes its end, so the child reads until end of file, once.
 * - `socket`: a Unix domain socket in a fresh directory of mode 0700 (the socket itself 0600),
 *   named in `FLAGSTREAM_SECRETS_SOCKET`. The first connection gets the document; the socket is
 *   then closed and unlinked, so no second reader can connect. The directory is removed when the
 *   child exits, whether or not it connected.
 *
 * Resolves once the process runs; rejects with a `CliRunError` (naming the command only) when it
 * cannot start.
 */
export async function launchChild(spec: LaunchSpec): Promise<SupervisedChild> {
  const env = { ...spec.env };
  let socket: OneShotSocket | null = null;
  if (spec.mode === 'pipe') env[SECRETS_FD_ENV] = String(PIPE_FD);
  if (spec.mode === 'socket') {
    socket = await serveOnce(spec.payload ?? '', spec.socketParent ?? tmpdir());
    env[SECRETS_SOCKET_ENV] = socket.path;
  }
  const stdio: StdioOptions = spec.mode === 'pipe' ? ['inherit', 'inherit', 'inherit', 'pipe'] : 'inherit';
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(spec.command, [...spec.args], { env, stdio });
  } catch (e) {
    // Node's own message may quote the environment (values): only its code is shown.
    await socket?.close();
    throw new CliRunError(`cannot start "${spec.command}": ${(e as NodeJS.ErrnoException).code ?? 'invalid arguments'}`);
  }
  const exited = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } catch (e) {
    await socket?.close();
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such program (ENOENT)' : code === 'E2BIG' ? 'the environment is too large (E2BIG): use --mode pipe' : (code ?? 'unknown error');
    throw new CliRunError(`cannot start "${spec.command}": ${why}`);
  }
  // After the start, an 'error' can only be a failed kill() of a child that is gone.
  child.on('error', () => undefined);
  if (spec.mode === 'pipe') {
    const pipe = child.stdio[PIPE_FD] as Writable;
    // EPIPE: the child exited or closed the descriptor without reading. Its business.
    pipe.on('error', () => undefined);
    pipe.end(spec.payload ?? '');
  }
  if (socket) {
    const s = socket;
    void exited.then(() => s.close());
  }
  return {
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
  };
}

/** A socket that serves one document to one connection. */
interface OneShotSocket {
  path: string;
  /** Stops listening and removes the directory (idempotent). */
  close(): Promise<void>;
}

/**
 * Listens on `<fresh 0700 directory>/secrets.sock` and writes `payload` to the first connection,
 * then stops listening and removes the directory at once. Node offers no way to read the peer's
 * credentials (SO_PEERCRED), so who may connect rests on the directory's mode: this user and root
 * only; and on there being one connection: if anything else took it, the child finds no socket
 * and fails loudly instead of running without its values.
 */
async function serveOnce(payload: string, parent: string): Promise<OneShotSocket> {
  const dir = await mkdtemp(join(parent, 'flagstream-'));
  const path = join(dir, 'secrets.sock');
  const server = createServer();
  let closing: Promise<void> | null = null;
  // Stop accepting and remove the socket at once (the connection being served goes on).
  const close = (): Promise<void> => {
    if (!closing) {
      if (server.listening) server.close();
      closing = rm(dir, { recursive: true, force: true });
    }
    return closing;
  };
  let served = false;
  server.on('connection', (conn: Socket) => {
    conn.on('error', () => undefined);
    if (served) {
      conn.destroy();
      return;
    }
    served = true;
    void close();
    conn.end(payload);
  });
  server.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    await chmod(path, 0o600);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new CliRunError(`cannot create the socket for --mode socket in ${parent}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { path, close };
}
