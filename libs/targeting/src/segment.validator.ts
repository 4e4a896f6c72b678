import { checkFlagSchemaV1, FLAG_LIMITS, type SegmentDefinitionV1, type ValidationProblem } from '@flagstream/protocol';
import { clauseProblems } from './clause.checker';
import { segmentReferences } from './segment.compiler';

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Every problem with a segment (untrusted JSON) in the context of its environment's segments:
 * schema, duplicate rule ids, clause operands, unsafe patterns, unknown segments, and `inSegment`
 * references that form a cycle (with this segment substituted) or nest deeper than
 * FLAG_LIMITS.maxSegmentDepth. A key listed both included and excluded is excluded (not an error).
 */
export function validateSegment(
  segment: unknown,
  known: { segments: ReadonlyMap<string, SegmentDefinitionV1> },
): ValidationProblem[] {
  const problems = checkFlagSchemaV1('segmentDefinition', segment);
  if (!isRecord(segment)) return problems;
  const self = typeof segment['key'] === 'string' ? segment['key'] : undefined;
  const hasSegment = (key: string): boolean => key === self || known.segments.has(key);
  const rules = segment['rules'];
  if (!Array.isArray(rules)) return problems;
  const ids = new Set<string>();
  rules.forEach((rule: unknown, index) => {
    if (!isRecord(rule)) return;
    const path = `rules[${index}]`;
    if (typeof rule['id'] === 'string') {
      if (ids.has(rule['id'])) problems.push({ path: `${path}.id`, message: `duplicate rule id "${rule['id']}"` });
      ids.add(rule['id']);
    }
    if (!Array.isArray(rule['clauses'])) return;
    (rule['clauses'] as unknown[]).forEach((clause, j) => {
      const clausePath = `${path}.clauses[${j}]`;
      problems.push(...clauseProblems(clause, clausePath, hasSegment));
      if (!isRecord(clause) || clause['operator'] !== 'inSegment' || !Array.isArray(clause['values'])) return;
      (clause['values'] as unknown[]).forEach((ref, k) => {
        if (typeof ref !== 'string' || !hasSegment(ref)) return;
        const trouble = referenceTrouble(self, ref, known.segments);
        if (trouble) problems.push({ path: `${clausePath}.values[${k}]`, message: trouble });
      });
    });
  });
  return problems;
}

/** A cycle back to `self` or a chain deeper than the limit, starting at `first`; else null. */
function referenceTrouble(
  self: string | undefined,
  first: string,
  segments: ReadonlyMap<string, SegmentDefinitionV1>,
): string | null {
  const path = [self ?? '(this segment)', first];
  const done = new Set<string>();
  const visit = (key: string): string | null => {
    if (key === self) return `segment reference cycle: ${path.join(' -> ')}`;
    if (path.length - 1 > FLAG_LIMITS.maxSegmentDepth) {
      return `segment references nest deeper than ${FLAG_LIMITS.maxSegmentDepth}: ${path.join(' -> ')}`;
    }
    const source = segments.get(key);
    if (!source) return null;
    for (const next of segmentReferences(source)) {
      if (done.has(next)) continue;
      if (path.includes(next) && next !== self) continue; // a cycle elsewhere, not through this segment
      path.push(next);
      const found = visit(next);
      path.pop();
      if (found) return found;
      done.add(next);
    }
    return null;
  };
  return visit(first);
}
