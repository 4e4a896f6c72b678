import { ConflictError } from '@flagstream/errors';

/** Postgres SQLSTATE of a unique violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; driverError?: { code?: string } };
  return err?.code === UNIQUE_VIOLATION || err?.driverError?.code === UNIQUE_VIOLATION;
}

/** Runs an insert and turns a unique violation into a 409 that names what already exists. */
export async function insertOrConflict<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError(`${what} already exists`);
    throw e;
  }
}
