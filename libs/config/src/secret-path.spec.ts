import { secretPathProblem, secretPatternMatches, secretPatternProblem } from './secret-path';

describe('secret paths and patterns', () => {
  it('names what is wrong with a pattern, and bounds the "**" segments matching backtracks over', () => {
    expect(secretPatternProblem('payments/**')).toBeNull();
    expect(secretPatternProblem('**/a/**/b/**')).toBeNull();
    expect(secretPatternProblem('**/a/**/b/**/c/**')).toBe('has more than 3 "**" segments');
    expect(secretPatternProblem('pay*')).toMatch(/^has the segment "pay\*"/);
    expect(secretPathProblem('a/b')).toBeNull();
    expect(secretPathProblem('a/**')).not.toBeNull();
  });

  it('matches one segment with * and any number with **', () => {
    expect(secretPatternMatches('**/a/**/b/**', 'x/a/y/z/b')).toBe(true);
    expect(secretPatternMatches('**/a/**/b/**', 'x/a/y/z')).toBe(false);
    // The worst case allowed stays fast on the longest path.
    const path = Array.from({ length: 16 }, () => 'a').join('/');
    const started = Date.now();
    expect(secretPatternMatches('**/b/**/b/**/b', path)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
