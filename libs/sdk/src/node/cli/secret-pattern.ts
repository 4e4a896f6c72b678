/** A secret path segment: lower-case letters, digits, `_`, `.`, `-`, starting with a letter or digit (as the secrets store). */
const SEGMENT = /^[a-z0-9][a-z0-9_.-]*$/;

/**
 * Why `pattern` is not a secret path pattern, or null. Patterns are those of secret policies
 * (docs/secrets.md): path segments joined by `/`, where `*` stands for exactly one segment and
 * `**` for any number of segments, even none. Checked before connecting, so a typo is a usage
 * error rather than a silent empty selection.
 */
export function secretPatternProblem(pattern: string): string | null {
  if (pattern.length < 1 || pattern.length > 256) return 'must be 1 to 256 characters';
  const segments = pattern.split('/');
  if (segments.length > 16) return 'has more than 16 segments';
  const bad = segments.find((s) => s !== '*' && s !== '**' && !SEGMENT.test(s));
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

/** What `selectSecrets` found: the paths to deliver and the patterns that matched nothing. */
export interface SecretSelection {
  /** The paths matching at least one pattern (all paths without patterns), sorted. */
  selected: string[];
  /** Patterns that matched none of the paths, in the order given. */
  unmatched: string[];
}

/**
 * Picks the paths the run delivers among those the key reads. No patterns: every path. A pattern
 * that matches nothing is reported (the caller refuses to start): it is a typo, or a grant that is
 * missing, and starting the child without the secret would only fail later and less clearly.
 */
export function selectSecrets(paths: readonly string[], patterns: readonly string[]): SecretSelection {
  if (patterns.length === 0) return { selected: [...paths].sort(), unmatched: [] };
  const selected = paths.filter((path) => patterns.some((p) => secretPatternMatches(p, path))).sort();
  const unmatched = patterns.filter((p) => !paths.some((path) => secretPatternMatches(p, path)));
  return { selected, unmatched };
}
