import { Client } from 'pg';
import { TEST_POSTGRES_URL, databaseUrl, templateDatabase, uniqueId } from './test-env';

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs SQL as the superuser against this database (for tampering tests and assertions). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh copy of the migrated template database for one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `flagstream_t_${uniqueId()}`;
  const admin = new Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateDatabase()}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const client = new Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    async query<T>(sql: string, params: unknown[] = []) {
      const res = await client.query(sql, params);
      return res.rows as T[];
    },
    async drop() {
      await client.end();
      const c = new Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
