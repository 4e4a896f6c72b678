import { FLAG_LIMITS, type ClauseOperator, type ClauseV1 } from '@flagstream/protocol';
import { AttributeRef, parseAttributePath } from './attribute-path.resolver';
import { toEpochMillis } from './date.parser';
import { compareVersion, parseVersionOperand, type VersionOperand } from './semver.comparator';

type Context = Readonly<Record<string, unknown>>;

/** Segment membership, as the clause compiler needs it. */
export interface SegmentMembership {
  readonly key: string;
  contains(context: Context): boolean;
}

/** Thrown while compiling a flag or segment that does not satisfy the model. */
export class CompileError extends Error {}

const MATCH = 1;
const NO_MATCH = 0;
const MISTYPED = -1;

// Operator codes: one class with a switch keeps every call site monomorphic (no closure chains).
const enum Op {
  In,
  Equals,
  StartsWith,
  EndsWith,
  Contains,
  Matches,
  Lt,
  Lte,
  Gt,
  Gte,
  Before,
  After,
  SemverEq,
  SemverLt,
  SemverLte,
  SemverGt,
  SemverGte,
  Exists,
  InSegment,
}

const OPS: Record<ClauseOperator, Op> = {
  in: Op.In,
  notIn: Op.In,
  equals: Op.Equals,
  startsWith: Op.StartsWith,
  endsWith: Op.EndsWith,
  contains: Op.Contains,
  matches: Op.Matches,
  lt: Op.Lt,
  lte: Op.Lte,
  gt: Op.Gt,
  gte: Op.Gte,
  before: Op.Before,
  after: Op.After,
  semverEq: Op.SemverEq,
  semverLt: Op.SemverLt,
  semverLte: Op.SemverLte,
  semverGt: Op.SemverGt,
  semverGte: Op.SemverGte,
  exists: Op.Exists,
  inSegment: Op.InSegment,
};

/*
 * Clause results are memoised per evaluation pass: every top-level evaluate / evaluateAll call
 * starts a new pass (a new epoch), and a clause shared by many flags (compiled clauses are
 * interned per environment) is then tested once per context. Contexts must not change during a
 * synchronous call, which JavaScript guarantees for plain data.
 */
let epoch = 1;

/** Starts a new evaluation pass: memoised clause results of earlier passes no longer apply. */
export function nextEvaluationPass(): void {
  epoch = epoch === 0x3fffffff ? 1 : epoch + 1;
}

const NO_SEGMENTS: readonly SegmentMembership[] = [];
const NO_STRINGS: readonly string[] = [];
const NO_PATTERNS: readonly RegExp[] = [];
const EMPTY_SET: ReadonlySet<unknown> = new Set();
const TARGETING_KEY = new AttributeRef(['targetingKey']);

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * A compiled clause. Semantics (docs/evaluation.md): a missing attribute (undefined or null) or a
 * value of a type the operator does not understand never matches, whether or not the clause is
 * negated; `exists` and `inSegment` are defined for every context. `notIn` is `in` negated.
 * Array attributes match when any well-typed element matches (negated: when none does); an array
 * without well-typed elements counts as missing. Date objects count as dates.
 */
export class CompiledClause {
  private memoEpoch = 0;
  private memoResult = false;

  constructor(
    private readonly op: Op,
    private readonly attribute: AttributeRef,
    private readonly negate: boolean,
    private readonly ignoreCase: boolean,
    /** in / equals: the operands; equals and one-value in use `single`. */
    private readonly set: ReadonlySet<unknown>,
    private readonly single: unknown,
    private readonly useSingle: boolean,
    private readonly strings: readonly string[],
    private readonly patterns: readonly RegExp[],
    private readonly number: number,
    private readonly version: VersionOperand | null,
    private readonly segments: readonly SegmentMembership[],
  ) {}

  test(context: Context): boolean {
    if (this.memoEpoch === epoch) return this.memoResult;
    const result = this.evaluate(context);
    this.memoEpoch = epoch;
    this.memoResult = result;
    return result;
  }

  private evaluate(context: Context): boolean {
    if (this.op === Op.InSegment) {
      for (let i = 0; i < this.segments.length; i++) if (this.segments[i]!.contains(context)) return !this.negate;
      return this.negate;
    }
    const value = this.attribute.read(context);
    if (this.op === Op.Exists) return (value !== undefined && value !== null && typeof value !== 'function') !== this.negate;
    if (value === undefined || value === null) return false;
    const type = typeof value;
    if (type === 'object') return this.objectVerdict(value as object);
    if (type === 'function') return false;
    const r = this.verdict(value as string | number | boolean);
    return r === MISTYPED ? false : (r === MATCH) !== this.negate;
  }

  private objectVerdict(value: object): boolean {
    if (Array.isArray(value)) {
      let wellTyped = false;
      for (const element of value as unknown[]) {
        if (element === null || element === undefined || typeof element === 'object' || typeof element === 'function') continue;
        const r = this.verdict(element as string | number | boolean);
        if (r === MATCH) return !this.negate;
        if (r === NO_MATCH) wellTyped = true;
      }
      return wellTyped ? this.negate : false;
    }
    if ((this.op === Op.Before || this.op === Op.After) && value instanceof Date) {
      const r = this.verdict(value.getTime());
      return r === MISTYPED ? false : (r === MATCH) !== this.negate;
    }
    return false;
  }

  /** The operator's verdict on one primitive value: MATCH, NO_MATCH or MISTYPED. */
  private verdict(value: string | number | boolean): number {
    switch (this.op) {
      case Op.In:
      case Op.Equals: {
        if (!(typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) return MISTYPED;
        const v = this.ignoreCase && typeof value === 'string' ? value.toLowerCase() : value;
        return (this.useSingle ? v === this.single : this.set.has(v)) ? MATCH : NO_MATCH;
      }
      case Op.StartsWith:
      case Op.EndsWith:
      case Op.Contains: {
        if (typeof value !== 'string') return MISTYPED;
        const s = this.ignoreCase ? value.toLowerCase() : value;
        for (let i = 0; i < this.strings.length; i++) {
          const operand = this.strings[i]!;
          const hit = this.op === Op.EndsWith ? s.endsWith(operand) : this.op === Op.StartsWith ? s.startsWith(operand) : s.includes(operand);
          if (hit) return MATCH;
        }
        return NO_MATCH;
      }
      case Op.Matches: {
        if (typeof value !== 'string' || value.length > FLAG_LIMITS.maxMatchSubjectLength) return MISTYPED;
        for (let i = 0; i < this.patterns.length; i++) if (this.patterns[i]!.test(value)) return MATCH;
        return NO_MATCH;
      }
      case Op.Lt:
      case Op.Lte:
      case Op.Gt:
      case Op.Gte: {
        if (typeof value !== 'number' || !Number.isFinite(value)) return MISTYPED;
        const t = this.number;
        const hit = this.op === Op.Lt ? value < t : this.op === Op.Lte ? value <= t : this.op === Op.Gt ? value > t : value >= t;
        return hit ? MATCH : NO_MATCH;
      }
      case Op.Before:
      case Op.After: {
        const ms = typeof value === 'number' || typeof value === 'string' ? toEpochMillis(value) : Number.NaN;
        if (Number.isNaN(ms)) return MISTYPED;
        return (this.op === Op.Before ? ms < this.number : ms > this.number) ? MATCH : NO_MATCH;
      }
      case Op.SemverEq:
      case Op.SemverLt:
      case Op.SemverLte:
      case Op.SemverGt:
      case Op.SemverGte: {
        if (typeof value !== 'string') return MISTYPED;
        const order = compareVersion(value, this.version!);
        if (Number.isNaN(order)) return MISTYPED;
        const hit =
          this.op === Op.SemverEq
            ? order === 0
            : this.op === Op.SemverLt
              ? order < 0
              : this.op === Op.SemverLte
                ? order <= 0
                : this.op === Op.SemverGt
                  ? order > 0
                  : order >= 0;
        return hit ? MATCH : NO_MATCH;
      }
      default:
        return MISTYPED;
    }
  }
}

function stringOperands(values: readonly unknown[], ignoreCase: boolean): string[] {
  if (values.length === 0) throw new CompileError('at least one operand expected');
  return values.map((v) => {
    if (typeof v !== 'string') throw new CompileError('string operand expected');
    return ignoreCase ? v.toLowerCase() : v;
  });
}

/**
 * Interned compiled clauses of one environment, keyed by their canonical JSON: flags that share a
 * condition share one compiled clause (less memory) and its memoised result (less work in bulk).
 * `inSegment` clauses are not interned, since the segments they point to can be recompiled.
 */
export type ClauseInterner = Map<string, CompiledClause>;

/**
 * Compiles a clause; `segment` resolves segment keys (and throws CompileError for unknown ones).
 * With an `interner`, an identical clause compiled before is returned instead of a new one.
 */
export function compileClause(clause: ClauseV1, segment: (key: string) => SegmentMembership, interner?: ClauseInterner): CompiledClause {
  if (interner === undefined || clause.operator === 'inSegment') return buildClause(clause, segment);
  const id = JSON.stringify([clause.operator, clause.attribute, clause.values, clause.negate === true, clause.caseInsensitive === true]);
  let compiled = interner.get(id);
  if (compiled === undefined) {
    compiled = buildClause(clause, segment);
    interner.set(id, compiled);
  }
  return compiled;
}

function buildClause(clause: ClauseV1, segment: (key: string) => SegmentMembership): CompiledClause {
  const negate = clause.negate === true;
  const ignoreCase = clause.caseInsensitive === true;
  const values: readonly unknown[] = clause.values;
  if (!Array.isArray(values)) throw new CompileError('values must be an array');
  const op = OPS[clause.operator];
  if (op === undefined) throw new CompileError(`unknown operator ${String(clause.operator)}`);
  let attribute = TARGETING_KEY;
  if (op !== Op.InSegment) {
    if (typeof clause.attribute !== 'string') throw new CompileError('attribute must be a string');
    const path = parseAttributePath(clause.attribute);
    if (typeof path === 'string') throw new CompileError(`attribute ${path}`);
    attribute = new AttributeRef(path);
  }
  let set: ReadonlySet<unknown> = EMPTY_SET;
  let single: unknown = undefined;
  let useSingle = false;
  let strings = NO_STRINGS;
  let patterns = NO_PATTERNS;
  let number = Number.NaN;
  let version: VersionOperand | null = null;
  let segments = NO_SEGMENTS;
  const one = (): unknown => {
    if (values.length !== 1) throw new CompileError(`${clause.operator} takes exactly one value`);
    return values[0];
  };
  switch (op) {
    case Op.In:
    case Op.Equals: {
      if (op === Op.Equals) one();
      if (values.length === 0) throw new CompileError('at least one operand expected');
      const operands = values.map((v) => {
        if (!isScalar(v)) throw new CompileError('scalar operand expected');
        return ignoreCase && typeof v === 'string' ? v.toLowerCase() : v;
      });
      useSingle = operands.length === 1;
      single = operands[0];
      set = new Set(operands);
      break;
    }
    case Op.StartsWith:
    case Op.EndsWith:
    case Op.Contains:
      strings = stringOperands(values, ignoreCase);
      break;
    case Op.Matches:
      patterns = stringOperands(values, false).map((p) => new RegExp(p, ignoreCase ? 'iu' : 'u'));
      break;
    case Op.Lt:
    case Op.Lte:
    case Op.Gt:
    case Op.Gte: {
      const v = one();
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new CompileError('one finite number expected');
      number = v;
      break;
    }
    case Op.Before:
    case Op.After:
      number = toEpochMillis(one());
      if (Number.isNaN(number)) throw new CompileError('one date expected');
      break;
    case Op.SemverEq:
    case Op.SemverLt:
    case Op.SemverLte:
    case Op.SemverGt:
    case Op.SemverGte: {
      const v = one();
      version = typeof v === 'string' ? parseVersionOperand(v) : null;
      if (!version) throw new CompileError('one semantic version expected');
      break;
    }
    case Op.Exists:
      break;
    case Op.InSegment:
      if (values.length === 0) throw new CompileError('inSegment takes at least one segment');
      segments = values.map((v) => segment(String(v)));
      break;
  }
  return new CompiledClause(
    op,
    attribute,
    clause.operator === 'notIn' ? !negate : negate,
    ignoreCase,
    set,
    single,
    useSingle,
    strings,
    patterns,
    number,
    version,
    segments,
  );
}

/** True when every clause holds (an empty list always holds). */
export function allHold(clauses: readonly CompiledClause[], context: Context): boolean {
  for (let i = 0; i < clauses.length; i++) if (!clauses[i]!.test(context)) return false;
  return true;
}
