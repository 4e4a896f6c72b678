import { isValidKey, KEY_PATTERN, KEY_PATTERN_SOURCE } from './key.pattern';

describe('isValidKey', () => {
  it.each(['a', '0', 'new-checkout', 'dark_mode.v2', 'a'.repeat(64)])('accepts %s', (key) => {
    expect(isValidKey(key)).toBe(true);
  });

  it.each(['', '-a', '.a', '_a', 'A', 'new checkout', 'ü', 'a'.repeat(65), 'a/b', 42, null])('rejects %j', (key) => {
    expect(isValidKey(key)).toBe(false);
  });

  it('exposes the same pattern as a source string', () => {
    expect(KEY_PATTERN.source).toBe(KEY_PATTERN_SOURCE);
  });
});
