import { SECRET_PATH_PATTERN } from './secret-path';

/**
 * Secret references in config values: an object `{"$secret": "<secret path>"}` anywhere in a value
 * stands for the value of that secret (a string), resolved only in the server SDK for keys a secret
 * policy allows. Pure and portable: the admin validates with it, the SDK resolves with it.
 */

export const SECRET_REFERENCE_KEY = '$secret';
/** What a reference stands in for when a schema checks the value: secrets are strings. */
export const SECRET_REFERENCE_PLACEHOLDER = 'flagstream-secret-reference';

export interface SecretReferenceProblem {
  /** Where in the value (`db.password`, `[2].token`), '' for the value itself. */
  path: string;
  message: string;
}

/** True for a well-formed reference: exactly one key, `$secret`, holding a secret path. */
export function isSecretReference(v: unknown): v is { $secret: string } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === SECRET_REFERENCE_KEY && typeof (v as Record<string, unknown>).$secret === 'string' && SECRET_PATH_PATTERN.test((v as { $secret: string }).$secret);
}

/** Every reference's path inside a value, with where it sits, in document order. */
export function secretReferences(value: unknown): Array<{ at: string; path: string }> {
  const out: Array<{ at: string; path: string }> = [];
  walk(value, '', (v, at) => {
    if (isSecretReference(v)) {
      out.push({ at, path: v.$secret });
      return true;
    }
    return false;
  });
  return out;
}

/** Malformed references (a `$secret` key beside others, or not holding a secret path). */
export function secretReferenceProblems(value: unknown): SecretReferenceProblem[] {
  const out: SecretReferenceProblem[] = [];
  walk(value, '', (v, at) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, SECRET_REFERENCE_KEY)) return false;
    if (!isSecretReference(v)) out.push({ path: at, message: 'a secret reference is exactly {"$secret": "<secret path>"}: one key, a path of lower-case segments joined by "/"' });
    return true;
  });
  return out;
}

/** The value with every reference replaced by a placeholder string (what a schema checks). */
export function withReferencePlaceholders(value: unknown): unknown {
  return map(value, () => SECRET_REFERENCE_PLACEHOLDER);
}

/**
 * The value with every reference replaced by its secret's value, or the first path that `lookup`
 * cannot give (not readable, not there).
 */
export function resolveSecretReferences(value: unknown, lookup: (path: string) => string | undefined): { value: unknown } | { missing: string } {
  let missing: string | undefined;
  const resolved = map(value, (path) => {
    const v = lookup(path);
    if (v === undefined && missing === undefined) missing = path;
    return v ?? null;
  });
  return missing === undefined ? { value: resolved } : { missing };
}

function map(value: unknown, replace: (path: string) => unknown): unknown {
  if (isSecretReference(value)) return replace(value.$secret);
  if (Array.isArray(value)) return value.map((v) => map(v, replace));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = map(v, replace);
    return out;
  }
  return value;
}

/** Depth-first; `visit` returns true to not descend into a node. */
function walk(value: unknown, at: string, visit: (v: unknown, at: string) => boolean): void {
  if (visit(value, at)) return;
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}[${i}]`, visit));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, at ? `${at}.${k}` : k, visit);
}
