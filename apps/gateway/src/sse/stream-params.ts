import { ValidationError } from '@flagstream/errors';

const MAX_CONTEXT_BYTES = 8192;

/**
 * The evaluation context of a browser stream: base64url JSON in `?context=` (EventSource cannot
 * send headers or a body). Absent means `{}`; anything else that is not a JSON object is a 400.
 */
export function parseContextParam(raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === '') return {};
  const bad = (message: string) => new ValidationError('context is not valid', [{ path: 'context', message }]);
  if (typeof raw !== 'string') throw bad('must be given once, as base64url-encoded JSON');
  if (raw.length > Math.ceil((MAX_CONTEXT_BYTES * 4) / 3)) throw bad(`must be at most ${MAX_CONTEXT_BYTES} bytes of JSON`);
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(raw)) throw bad('must be base64url');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw bad('must be base64url-encoded JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('must be a JSON object');
  return value as Record<string, unknown>;
}

/** A context given as an object (socket.io handshake); absent means `{}`. */
export function parseContextObject(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('context is not valid', [{ path: 'context', message: 'must be a JSON object' }]);
  }
  if (JSON.stringify(value).length > MAX_CONTEXT_BYTES) {
    throw new ValidationError('context is not valid', [{ path: 'context', message: `must be at most ${MAX_CONTEXT_BYTES} bytes of JSON` }]);
  }
  return value as Record<string, unknown>;
}

/** `Last-Event-ID` (or `?lastEventId=`): a revision, or null (send a snapshot) when absent or unusable. */
export function parseLastEventId(raw: unknown): number | null {
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw.trim())) return null;
  return Number(raw.trim());
}
