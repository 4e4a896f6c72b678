import { FLAG_LIMITS } from '@flagstream/protocol';

/** Reads one attribute from a context; undefined when any step of the path is missing. */
export type AttributeGetter = (context: Readonly<Record<string, unknown>>) => unknown;

const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Splits a dot path (`tenant.plan`) into its segments, or returns a reason it is invalid:
 * empty segments, more than 8 segments, longer than 256 characters, or a segment that would reach
 * into the prototype chain (`__proto__`, `prototype`, `constructor`).
 */
export function parseAttributePath(path: string): string[] | string {
  if (path.length === 0) return 'must not be empty';
  if (path.length > FLAG_LIMITS.maxAttributePathLength) {
    return `must be at most ${FLAG_LIMITS.maxAttributePathLength} characters`;
  }
  const segments = path.split('.');
  if (segments.length > FLAG_LIMITS.maxAttributePathSegments) {
    return `must have at most ${FLAG_LIMITS.maxAttributePathSegments} segments`;
  }
  for (const segment of segments) {
    if (segment.length === 0) return 'must not contain empty segments';
    if (FORBIDDEN_SEGMENTS.has(segment)) return `must not use the segment "${segment}"`;
  }
  return segments;
}

function step(value: unknown, segment: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
}

/** A getter specialised for the path length (the common one- and two-segment paths are direct). */
export function attributeGetter(segments: readonly string[]): AttributeGetter {
  const [a, b, c] = segments;
  switch (segments.length) {
    case 1:
      return (context) => context[a!];
    case 2:
      return (context) => step(context[a!], b!);
    case 3:
      return (context) => step(step(context[a!], b!), c!);
    default:
      return (context) => {
        let value: unknown = context;
        for (const segment of segments) value = step(value, segment);
        return value;
      };
  }
}
