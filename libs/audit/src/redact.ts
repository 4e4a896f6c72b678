/** Field names whose values never enter audit payloads (logs have REDACT_PATHS in libs/server). */
/**
 * Matched against the field name with "-" and "_" removed. Not `key`: flags, projects and
 * variations are identified by keys, and those must stay readable in the audit trail.
 */
const SENSITIVE = /^(token|tokens|sdkkey|secret|secrets|password|passwd|valueplaintext|plaintext|authorization|tokenhash|keyhash|apikey|privatekey)$/i;

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
