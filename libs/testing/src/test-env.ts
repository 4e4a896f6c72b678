import { randomBytes } from 'node:crypto';

/** The server that test databases are created on (the `postgres` maintenance database). */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEMPLATE_DATABASE = 'flagstream_test_template';

export function databaseUrl(name: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A short random id for per-test-file database names, Redis key prefixes and queue names. */
export function uniqueId(): string {
  return randomBytes(6).toString('hex');
}
