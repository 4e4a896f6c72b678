import { checkFlagSchemaV1, FLAG_LIMITS, type ClauseV1, type SegmentDefinitionV1, type ValidationProblem } from '@flagstream/protocol';
import { clauseProblems } from './clause.checker';
import { allHold, compileClause, nextEvaluationPass, type CompiledClause } from './clause.compiler';
import { SegmentCompiler } from './segment.compiler';

/** A compiled list of clauses: `test` is true when every clause holds for the context. */
export interface CompiledConditions {
  test(context: Readonly<Record<string, unknown>>): boolean;
}

/**
 * Compiles clauses outside a flag (config targeted overrides) with the same semantics as flag
 * rules (docs/evaluation.md). Throws `CompileError` when a clause is malformed or refers to an
 * unknown or broken segment; call `validateConditions` first for a list of problems instead.
 */
export function compileConditions(clauses: readonly ClauseV1[], segments: readonly SegmentDefinitionV1[] = []): CompiledConditions {
  const compiler = new SegmentCompiler(new Map(segments.map((s) => [s.key, s])), new Map());
  const compiled: CompiledClause[] = clauses.map((c) => compileClause(c, (key) => compiler.require(key)));
  return {
    test(context) {
      // Clause results are memoised per evaluation pass; each test is its own pass.
      nextEvaluationPass();
      try {
        return allHold(compiled, context);
      } catch {
        return false;
      }
    },
  };
}

/**
 * Every problem with a list of clauses (untrusted JSON) used outside a flag: the clause schema,
 * operand types, unsafe patterns and unknown segments, with paths like `[1].values[0]`.
 */
export function validateConditions(clauses: unknown, hasSegment: (key: string) => boolean): ValidationProblem[] {
  if (!Array.isArray(clauses)) return [{ path: '', message: 'must be an array of clauses' }];
  const problems: ValidationProblem[] = [];
  if (clauses.length === 0) problems.push({ path: '', message: 'must hold at least one clause' });
  if (clauses.length > FLAG_LIMITS.maxClausesPerRule) problems.push({ path: '', message: `must hold at most ${FLAG_LIMITS.maxClausesPerRule} clauses` });
  clauses.forEach((clause, i) => {
    const schema = checkFlagSchemaV1('clause', clause).map((p) => ({ path: p.path ? `[${i}].${p.path}` : `[${i}]`, message: p.message }));
    problems.push(...(schema.length ? schema : clauseProblems(clause, `[${i}]`, hasSegment)));
  });
  return problems;
}
