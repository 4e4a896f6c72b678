import { DataSource, type DataSourceOptions } from 'typeorm';
import { Client } from 'pg';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/** TypeORM options for Flagstream. Migrations only: `synchronize` is off everywhere, tests included. */
export function dataSourceOptions(url: string, extra: { poolSize?: number; applicationName?: string } = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    poolSize: extra.poolSize ?? 10,
    applicationName: extra.applicationName ?? 'flagstream',
    // Reading jsonb/timestamptz as-is; bigint columns go through a transformer.
  };
}

/** Creates the database named in `url` when it does not exist yet (first start). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(name)) throw new Error(`database name "${name}" in DATABASE_URL is not a plain identifier`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount) return false;
    await client.query(`CREATE DATABASE "${name}"`);
    return true;
  } catch (e) {
    // Two processes starting together: the other one created it first.
    if ((e as { code?: string }).code === '42P04') return false;
    throw e;
  } finally {
    await client.end();
  }
}

/** Applies every pending migration; returns the names applied. */
export async function migrate(url: string): Promise<string[]> {
  const ds = new DataSource(dataSourceOptions(url, { poolSize: 1, applicationName: 'flagstream-migrate' }));
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
