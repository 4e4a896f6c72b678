import { secretPatternMatches, secretPatternProblem, selectSecrets } from './secret-pattern';

describe('secret path patterns', () => {
  it.each([
    ['payments/**', 'payments/stripe/api-key', true],
    ['payments/**', 'payments', true],
    ['payments/*', 'payments/db', true],
    ['payments/*', 'payments/stripe/api-key', false],
    ['*/api-key', 'stripe/api-key', true],
    ['*/api-key', 'payments/stripe/api-key', false],
    ['**/api-key', 'payments/stripe/api-key', true],
    ['**', 'anything/at/all', true],
    ['db/password', 'db/password', true],
    ['db/password', 'db/passwords', false],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(secretPatternMatches(pattern, path)).toBe(expected);
  });

  it('says what is wrong with a pattern', () => {
    expect(secretPatternProblem('payments/**')).toBeNull();
    expect(secretPatternProblem('')).toBe('must be 1 to 256 characters');
    expect(secretPatternProblem('Payments/x')).toBe(
      'has the segment "Payments": segments are a-z, 0-9, "_", "." or "-" (starting with a letter or digit), "*" (one segment) or "**" (any number)',
    );
    expect(secretPatternProblem('a//b')).toMatch(/^has the segment ""/);
    expect(secretPatternProblem('pay*')).toMatch(/^has the segment "pay\*"/);
    expect(secretPatternProblem(Array(17).fill('a').join('/'))).toBe('has more than 16 segments');
  });

  it('selects every path without patterns, the matching ones with, and reports patterns that match nothing', () => {
    const paths = ['payments/stripe/api-key', 'payments/db/password', 'billing/token'];
    expect(selectSecrets(paths, [])).toEqual({ selected: ['billing/token', 'payments/db/password', 'payments/stripe/api-key'], unmatched: [] });
    expect(selectSecrets(paths, ['payments/**'])).toEqual({ selected: ['payments/db/password', 'payments/stripe/api-key'], unmatched: [] });
    expect(selectSecrets(paths, ['billing/*', 'payments/strip/**', 'nope'])).toEqual({ selected: ['billing/token'], unmatched: ['payments/strip/**', 'nope'] });
    expect(selectSecrets([], ['a/**'])).toEqual({ selected: [], unmatched: ['a/**'] });
  });
});
