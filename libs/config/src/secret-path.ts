/**
 * Secret paths and path patterns, one definition for every place that reads them: the secrets
 * store and its policies (libs/changes), secret references in config values, and the
 * `flagstream run` CLI's `--secrets` patterns.
 */

/**
 * A secret's path: 1 to 16 segments of lower-case letters, digits, `_`, `.` and `-` (starting with
 * a letter or digit), joined by `/`, at most 256 characters: `payments/stripe/api-key`.
 */
export const SECRET_PATH_PATTERN = /^(?=.{1,256}$)[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*){0,15}$/;
const SEGMENT = /^[a-z0-9][a-z0-9_.-]*$/;
/** "**" segments a pattern may hold. */
const MAX_GLOBSTARS = 3;

/** Why `path` is not a secret path, or null. */
export function secretPathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || !SECRET_PATH_PATTERN.test(path)) {
    return 'must be 1 to 16 segments of a-z, 0-9, "_", "." or "-" (each starting with a letter or digit) joined by "/", at most 256 characters';
  }
  return null;
}

/**
 * Why `pattern` is not a secret path pattern, or null. Patterns are path segments joined by `/`,
 * where `*` stands for exactly one segment and `**` for any number of segments, even none.
 */
export function secretPatternProblem(pattern: unknown): string | null {
  if (typeof pattern !== 'string' || pattern.length < 1 || pattern.length > 256) return 'must be 1 to 256 characters';
  const segments = pattern.split('/');
  if (segments.length > 16) return 'has more than 16 segments';
  const bad = segments.find((s) => s !== '*' && s !== '**' && !SEGMENT.test(s));
  // Matching backtracks over "**": a few keep it linear enough on every read.
  if (segments.filter((s) => s === '**').length > MAX_GLOBSTARS) return `has more than ${MAX_GLOBSTARS} "**" segments`;
  if (bad !== undefined) {
    return `has the segment "${bad}": segments are a-z, 0-9, "_", "." or "-" (starting with a letter or digit), "*" (one segment) or "**" (any number)`;
  }
  return null;
}

/** Whether `path` matches `pattern`, segment by segment (`**` spans any number of segments). */
export function secretPatternMatches(pattern: string, path: string): boolean {
  return matchFrom(pattern.split('/'), 0, path.split('/'), 0);
}

function matchFrom(p: string[], i: number, s: string[], j: number): boolean {
  if (i === p.length) return j === s.length;
  if (p[i] === '**') {
    for (let k = j; k <= s.length; k++) if (matchFrom(p, i + 1, s, k)) return true;
    return false;
  }
  if (j === s.length) return false;
  return (p[i] === '*' || p[i] === s[j]) && matchFrom(p, i + 1, s, j + 1);
}
