import { FLAG_LIMITS, type SegmentDefinitionV1 } from '@flagstream/protocol';
import { allHold, compileClause, CompileError, type ClauseInterner, type CompiledClause, type SegmentMembership } from './clause.compiler';

/** A segment ready for membership tests; `broken` carries why it could not be compiled. */
export interface CompiledSegment extends SegmentMembership {
  /** Segments referenced by `inSegment` clauses in this segment's rules. */
  readonly references: ReadonlySet<string>;
  readonly broken?: string;
}

class MembershipTest implements CompiledSegment {
  constructor(
    readonly key: string,
    readonly references: ReadonlySet<string>,
    private readonly included: ReadonlySet<string>,
    private readonly excluded: ReadonlySet<string>,
    private readonly rules: readonly (readonly CompiledClause[])[],
  ) {}

  contains(context: Readonly<Record<string, unknown>>): boolean {
    const key = context['targetingKey'];
    if (typeof key === 'string') {
      if (this.excluded.has(key)) return false;
      if (this.included.has(key)) return true;
    }
    for (let i = 0; i < this.rules.length; i++) if (allHold(this.rules[i]!, context)) return true;
    return false;
  }
}

/** Direct segment references of a segment definition (its rules' inSegment clauses). */
export function segmentReferences(segment: SegmentDefinitionV1): Set<string> {
  const out = new Set<string>();
  for (const rule of segment.rules ?? []) {
    for (const clause of rule.clauses ?? []) {
      if (clause.operator === 'inSegment') for (const v of clause.values ?? []) out.add(String(v));
    }
  }
  return out;
}

/**
 * Compiles segments on demand, memoised, resolving `inSegment` references between them; a segment
 * in a reference cycle, deeper than FLAG_LIMITS.maxSegmentDepth, referring to an unknown segment or
 * malformed is compiled as broken, and flags that use it fail to compile.
 */
export class SegmentCompiler {
  private readonly compiling = new Set<string>();

  constructor(
    private readonly sources: ReadonlyMap<string, SegmentDefinitionV1>,
    /** Already compiled segments that can be reused as they are. */
    private readonly compiled: Map<string, CompiledSegment>,
    private readonly interner?: ClauseInterner,
  ) {}

  get(key: string): CompiledSegment | undefined {
    const done = this.compiled.get(key);
    if (done) return done;
    const source = this.sources.get(key);
    if (!source) return undefined;
    const result = this.build(key, source);
    this.compiled.set(key, result);
    return result;
  }

  private build(key: string, source: SegmentDefinitionV1): CompiledSegment {
    let references = new Set<string>();
    try {
      references = segmentReferences(source);
      if (this.compiling.has(key)) throw new CompileError(`segment reference cycle through "${key}"`);
      if (this.compiling.size >= FLAG_LIMITS.maxSegmentDepth) throw new CompileError('segment references nested too deeply');
      this.compiling.add(key);
      try {
        const rules = source.rules.map((rule) => rule.clauses.map((clause) => compileClause(clause, (ref) => this.require(ref), this.interner)));
        const strings = (list: unknown): Set<string> => {
          if (!Array.isArray(list)) throw new CompileError('included and excluded must be arrays');
          return new Set(list.map(String));
        };
        return new MembershipTest(key, references, strings(source.included), strings(source.excluded), rules);
      } finally {
        this.compiling.delete(key);
      }
    } catch (error) {
      return broken(key, references, error);
    }
  }

  /** A referenced segment that must exist and be sound, else the referring clause fails to compile. */
  require(key: string): CompiledSegment {
    if (this.compiling.has(key)) throw new CompileError(`segment reference cycle through "${key}"`);
    const segment = this.get(key);
    if (!segment) throw new CompileError(`unknown segment "${key}"`);
    if (segment.broken) throw new CompileError(`segment "${key}" is invalid: ${segment.broken}`);
    return segment;
  }
}

function broken(key: string, references: ReadonlySet<string>, error: unknown): CompiledSegment {
  const message = error instanceof Error ? error.message : String(error);
  return { key, references, broken: message, contains: () => false };
}
