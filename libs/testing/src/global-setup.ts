// Global setup runs outside Jest's module mapper: resolve @flagstream/* through tsconfig paths.
import 'tsconfig-paths/register';
import { Client } from 'pg';
import { migrate } from '@flagstream/persistence';
import { TEST_POSTGRES_URL, databaseUrl, uniqueId } from './test-env';

/**
 * Jest global setup: builds this run's migrated template database once. Each test file then
 * clones it (CREATE DATABASE ... TEMPLATE ...), which takes milliseconds. Workers inherit the
 * template's name through FLAGSTREAM_TEMPLATE_DATABASE; global teardown drops it.
 */
export default async function globalSetup(): Promise<void> {
  // Both projects of one run share one template; jest calls each project's setup in this process.
  const run = globalThis as { flagstreamTemplate?: string };
  if (run.flagstreamTemplate) return;
  const name = `flagstream_tpl_${uniqueId()}`;
  const client = new Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  await migrate(databaseUrl(name));
  run.flagstreamTemplate = name;
  process.env.FLAGSTREAM_TEMPLATE_DATABASE = name;
}
