import { FLAG_LIMITS } from '@flagstream/protocol';

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

/**
 * A compiled attribute path. One class for every path (rather than a closure per path) keeps the
 * call sites of the evaluator monomorphic, so V8 inlines the read.
 */
export class AttributeRef {
  private readonly first: string;
  private readonly second: string;

  constructor(private readonly segments: readonly string[]) {
    this.first = segments[0] ?? '';
    this.second = segments[1] ?? '';
  }

  read(context: Readonly<Record<string, unknown>>): unknown {
    const value = context[this.first];
    if (this.segments.length === 1) return value;
    if (value === null || typeof value !== 'object') return undefined;
    const inner = (value as Record<string, unknown>)[this.second];
    return this.segments.length === 2 ? inner : this.walk(inner);
  }

  private walk(start: unknown): unknown {
    let value = start;
    for (let i = 2; i < this.segments.length; i++) {
      if (value === null || typeof value !== 'object') return undefined;
      value = (value as Record<string, unknown>)[this.segments[i]!];
    }
    return value;
  }
}
