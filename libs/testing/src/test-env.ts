import { randomBytes } from 'node:crypto';

/** The server that test databases are created on (the `postgres` maintenance database). */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/**
 * The migrated template of this test run. Global setup names it per run (and exports the name
 * through the environment to the workers), so concurrent runs on one machine never collide.
 */
export function templateDatabase(): string {
  const name = process.env.FLAGSTREAM_TEMPLATE_DATABASE;
  if (!name) throw new Error('FLAGSTREAM_TEMPLATE_DATABASE is not set: run tests through jest (its global setup creates the template)');
  return name;
}

export function databaseUrl(name: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A short random id for per-test-file database names, Redis key prefixes and queue names. */
export function uniqueId(): string {
  return randomBytes(6).toString('hex');
}
