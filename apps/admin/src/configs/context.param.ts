import { BadRequestError } from '@flagstream/errors';

/** Decodes an evaluation context passed as base64url JSON in a query parameter (400 when it is not an object). */
export function decodeContextParam(raw: string | undefined, name = 'context'): Record<string, unknown> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw new BadRequestError(`${name} must be base64url-encoded JSON`, [{ path: name, message: 'not base64url JSON' }]);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BadRequestError(`${name} must encode a JSON object`, [{ path: name, message: 'must be an object' }]);
  }
  return parsed as Record<string, unknown>;
}
