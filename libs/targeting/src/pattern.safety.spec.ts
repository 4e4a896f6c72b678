import { patternProblem } from './pattern.safety';

describe('patternProblem', () => {
  it.each([
    '^[a-z]+@example\\.com$',
    '^user-\\d{1,6}$',
    '(foo|bar)+baz',
    '^(?:[a-z0-9-]+\\.)?example\\.com$',
    'Mozilla/5\\.0 .*Firefox/\\d+',
    '^\\p{Lu}\\w*$',
    '[^@]+@[^@]+',
    '^.*foo.*bar.*',
    'foo.*bar',
    '(?<year>\\d{4})-(?<month>\\d{2})',
  ])('accepts the safe pattern %s', (pattern) => {
    expect(patternProblem(pattern)).toBeNull();
  });

  it.each([
    ['(a+)+$', 'nested quantifiers'],
    ['^(\\w+\\s?)*$', 'nested quantifiers'],
    ['(.*a){12}', 'nested quantifiers'],
    ['([a-z]*)*', 'nested quantifiers'],
    ['(a|a)*b', 'repeated alternation'],
    ['(a|ab)*c', 'repeated alternation'],
    ['^(\\w|\\d)+$', 'repeated alternation'],
    ['(|x)+', 'repeated alternation'],
    ['\\d+\\d+\\d+\\d+x', 'adjacent unbounded quantifiers'],
    ['^a*a*a*$', 'adjacent unbounded quantifiers'],
    ['^.*foo.*bar.*$', 'adjacent unbounded quantifiers'],
    ['a.*b.*c', 'adjacent unbounded quantifiers'],
    ['(a)\\1', 'backreferences'],
    ['(?<x>a)\\k<x>', 'backreferences'],
    ['(?=a)a', 'lookaround'],
    ['(?<!a)b', 'lookaround'],
  ])('rejects %s (%s)', (pattern, reason) => {
    expect(patternProblem(pattern)).toContain(reason);
  });

  it('reports ambiguity that only case-insensitivity creates', () => {
    expect(patternProblem('(a|A)*')).toBeNull();
    expect(patternProblem('(a|A)*', true)).toContain('repeated alternation');
  });

  it('rejects invalid and over-long patterns', () => {
    expect(patternProblem('(unclosed')).toContain('invalid regular expression');
    expect(patternProblem('[z-a]')).toContain('invalid regular expression');
    expect(patternProblem('a'.repeat(257))).toBe('pattern must be at most 256 characters');
    expect(patternProblem('a'.repeat(256))).toBeNull();
  });

  it('keeps accepted patterns fast on adversarial input of the maximum subject length', () => {
    const subject = `${'a'.repeat(1023)}!`;
    for (const pattern of ['^(a|b)*$', '^a*a*$', '^.*a.*a.*', 'a.*a', 'a+b']) {
      expect(patternProblem(pattern)).toBeNull();
      const start = Date.now();
      new RegExp(pattern, 'u').test(subject);
      expect(Date.now() - start).toBeLessThan(500);
    }
  });
});
