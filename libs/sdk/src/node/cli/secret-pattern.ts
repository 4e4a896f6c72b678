import { secretPatternMatches } from '@flagstream/config';

export { secretPatternMatches, secretPatternProblem } from '@flagstream/config';

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
