/** Field names whose values never enter audit payloads or logs. */
const SENSITIVE = /^(token|tokens|key|sdkkey|secret|secrets|password|passwd|value_plaintext|plaintext|authorization|tokenhash|keyhash|hash|apikey)$/i;

export const REDACTED = '[REDACTED]';

/** A deep copy of `value` with sensitive fields replaced, for audit `before`/`after` payloads. */
export function redactSensitive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSensitive);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SENSITIVE.test(k.replace(/[-_]/g, '')) ? REDACTED : redactSensitive(v);
    }
    return out;
  }
  return value;
}
