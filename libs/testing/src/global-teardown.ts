import { Client } from 'pg';
import { TEST_POSTGRES_URL } from './test-env';

/** Drops this run's template database. */
export default async function globalTeardown(): Promise<void> {
  const run = globalThis as { flagstreamTemplate?: string };
  const name = run.flagstreamTemplate;
  if (!name) return;
  delete run.flagstreamTemplate;
  const client = new Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
