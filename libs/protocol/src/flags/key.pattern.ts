/**
 * Keys of flags, segments, variations, projects and environments are slugs: lower-case letters,
 * digits, `_`, `.` and `-`, starting with a letter or digit, at most 64 characters.
 */
export const KEY_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** The source of {@link KEY_PATTERN}, for JSON Schema `pattern` keywords. */
export const KEY_PATTERN_SOURCE = '^[a-z0-9][a-z0-9_.-]{0,63}$';

/** True when `value` is a string that matches {@link KEY_PATTERN}. */
export function isValidKey(value: unknown): value is string {
  return typeof value === 'string' && KEY_PATTERN.test(value);
}
