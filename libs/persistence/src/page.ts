import { ValidationError } from '@flagstream/errors';

/** Keyset pagination: `after` is the opaque cursor of the last item of the previous page. */
export interface PageRequest {
  limit: number;
  after?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export function encodeCursor(value: string | number): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What a cursor may hold: a key (ordered text), a row id (UUID) or a sequence number. */
export type CursorKind = 'key' | 'uuid' | 'seq';

function validCursorValue(v: unknown, kind: CursorKind): boolean {
  switch (kind) {
    case 'key':
      return typeof v === 'string' && v.length > 0 && v.length <= 256 && !v.includes('\u0000');
    case 'uuid':
      return typeof v === 'string' && UUID.test(v);
    case 'seq':
      return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
  }
}

/** Decodes a cursor, refusing (400) anything this API would not have issued. */
export function decodeCursor<T extends string | number>(cursor: string, kind: CursorKind): T {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (validCursorValue(v, kind)) return v as T;
  } catch {
    // fall through
  }
  throw new ValidationError('cursor is not valid; use the nextCursor of a previous page', [
    { path: 'cursor', message: 'not a cursor issued by this API' },
  ]);
}

/** Builds a page from `limit + 1` fetched rows. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => string | number): Page<T> {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;
  return { items, nextCursor: more && items.length ? encodeCursor(cursorOf(items[items.length - 1])) : null };
}
