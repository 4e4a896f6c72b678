// Global setup runs outside Jest's module mapper: resolve @flagstream/* through tsconfig paths.
import 'tsconfig-paths/register';
import { Client } from 'pg';
import { migrate } from '@flagstream/persistence';
import { TEMPLATE_DATABASE, TEST_POSTGRES_URL, databaseUrl } from './test-env';

/**
 * Jest global setup: builds the migrated template database once per run. Each test file then
 * clones it (CREATE DATABASE ... TEMPLATE ...), which takes milliseconds.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.FLAGSTREAM_TEMPLATE_READY === '1') return;
  const client = new Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await client.end();
  }
  await migrate(databaseUrl(TEMPLATE_DATABASE));
  process.env.FLAGSTREAM_TEMPLATE_READY = '1';
}
