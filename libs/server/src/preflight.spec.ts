import { createServer, type Server } from 'node:net';
import { DependencyUnreachableError, preflight } from './preflight';

describe('preflight', () => {
  let server: Server;
  let openPort: number;
  let closedPort: number;

  beforeAll(async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    openPort = (server.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('passes when both answer', async () => {
    await expect(preflight({ databaseUrl: `postgres://x@127.0.0.1:${openPort}/db`, redisUrl: `redis://127.0.0.1:${openPort}` })).resolves.toBeUndefined();
  });

  it('says which dependency is down, where, and how to start it', async () => {
    const error = await preflight({ databaseUrl: `postgres://x@127.0.0.1:${closedPort}/db`, redisUrl: `redis://127.0.0.1:${closedPort}` }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnreachableError);
    const problems = (error as DependencyUnreachableError).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^Cannot reach Postgres at 127\\.0\\.0\\.1:${closedPort} \\(DATABASE_URL\\): ECONNREFUSED`));
    expect(problems[0]).toContain('docker compose up -d postgres');
    expect(problems[1]).toMatch(new RegExp(`^Cannot reach Redis at 127\\.0\\.0\\.1:${closedPort} \\(REDIS_URL\\): ECONNREFUSED`));
    expect(problems[1]).toContain('apt-get install -y redis-server');
  });
});
