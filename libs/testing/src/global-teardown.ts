import { Client } from 'pg';
import { TEST_POSTGRES_URL } from './test-env';

/** Drops this run's template database. */
export default async function globalTeardown(): Promise<void> {
  const name = process.env.FLAGSTREAM_TEMPLATE_DATABASE;
  if (!name) return;
  delete process.env.FLAGSTREAM_TEMPLATE_DATABASE;
  const client = new Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
