import { connect } from 'node:net';

export class DependencyUnreachableError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n\n'));
    this.name = 'DependencyUnreachableError';
  }
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (problem: string | null) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/**
 * Checks that Postgres and Redis answer before anything else starts, and says which one does
 * not, at what address, and how to start it.
 */
export async function preflight(urls: { databaseUrl?: string; redisUrl?: string }, timeoutMs = 3000): Promise<void> {
  const problems: string[] = [];
  if (urls.databaseUrl) {
    const u = new URL(urls.databaseUrl);
    const port = Number(u.port || 5432);
    const why = await tcpProbe(u.hostname, port, timeoutMs);
    if (why) {
      problems.push(
        `Cannot reach Postgres at ${u.hostname}:${port} (DATABASE_URL): ${why}.\n` +
          `  Start it with "docker compose up -d postgres", or on Debian/Ubuntu:\n` +
          `    apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
      );
    }
  }
  if (urls.redisUrl) {
    const u = new URL(urls.redisUrl);
    const port = Number(u.port || 6379);
    const why = await tcpProbe(u.hostname, port, timeoutMs);
    if (why) {
      problems.push(
        `Cannot reach Redis at ${u.hostname}:${port} (REDIS_URL): ${why}.\n` +
          `  Start it with "docker compose up -d redis", or on Debian/Ubuntu:\n` +
          `    apt-get install -y redis-server && redis-server --daemonize yes`,
      );
    }
  }
  if (problems.length) throw new DependencyUnreachableError(problems);
}

/** Runs `cleanup` once on SIGINT/SIGTERM, then exits; a second signal exits at once. */
export function onShutdown(cleanup: () => Promise<void>, log: (msg: string) => void): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    log(`${signal} received: closing`);
    cleanup().then(
      () => process.exit(0),
      (e: unknown) => {
        log(`shutdown failed: ${String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Prints a startup failure for people (not as a JSON log line) and exits. */
export function exitWith(error: unknown): never {
  const expected = error instanceof Error && ['EnvValidationError', 'DependencyUnreachableError'].includes(error.name);
  const message = error instanceof Error ? (expected ? error.message : (error.stack ?? error.message)) : String(error);
  process.stderr.write(`\nflagstream: cannot start.\n${message}\n\n`);
  process.exit(1);
}
