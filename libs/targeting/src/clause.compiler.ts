import { FLAG_LIMITS, type ClauseOperator, type ClauseV1 } from '@flagstream/protocol';
import { attributeGetter, parseAttributePath, type AttributeGetter } from './attribute-path.resolver';
import { toEpochMillis } from './date.parser';
import { compareVersion, parseVersionOperand, type VersionOperand } from './semver.comparator';

/** A compiled test on a context. Contexts are plain objects (non-objects are replaced by `{}`). */
export type ContextPredicate = (context: Readonly<Record<string, unknown>>) => boolean;

/** Segment membership, as the clause compiler needs it. */
export interface SegmentMembership {
  readonly key: string;
  contains(context: Readonly<Record<string, unknown>>): boolean;
}

/** Thrown while compiling a flag or segment that does not satisfy the model. */
export class CompileError extends Error {}

const MATCH = 1;
const NO_MATCH = 0;
const MISTYPED = -1;

/** The verdict of an operator on one primitive attribute value: MATCH, NO_MATCH or MISTYPED. */
type ValueTest = (value: string | number | boolean | bigint | symbol) => number;

const ALWAYS: ContextPredicate = () => true;

function lower(value: unknown): unknown {
  return typeof value === 'string' ? value.toLowerCase() : value;
}

function stringValues(values: readonly unknown[], ignoreCase: boolean): string[] {
  return values.map((v) => {
    if (typeof v !== 'string') throw new CompileError('string operand expected');
    return ignoreCase ? v.toLowerCase() : v;
  });
}

function numberOperand(values: readonly unknown[]): number {
  const v = values[0];
  if (values.length !== 1 || typeof v !== 'number' || !Number.isFinite(v)) throw new CompileError('one finite number expected');
  return v;
}

function dateOperand(values: readonly unknown[]): number {
  const ms = values.length === 1 ? toEpochMillis(values[0]) : Number.NaN;
  if (Number.isNaN(ms)) throw new CompileError('one date expected');
  return ms;
}

function versionOperand(values: readonly unknown[]): VersionOperand {
  const v = values[0];
  const operand = values.length === 1 && typeof v === 'string' ? parseVersionOperand(v) : null;
  if (!operand) throw new CompileError('one semantic version expected');
  return operand;
}

function anyString(values: readonly string[], test: (subject: string, operand: string) => boolean): (s: string) => boolean {
  if (values.length === 1) {
    const only = values[0]!;
    return (s) => test(s, only);
  }
  return (s) => {
    for (const operand of values) if (test(s, operand)) return true;
    return false;
  };
}

function stringTest(match: (s: string) => boolean, ignoreCase: boolean): ValueTest {
  return ignoreCase
    ? (v) => (typeof v === 'string' ? (match(v.toLowerCase()) ? MATCH : NO_MATCH) : MISTYPED)
    : (v) => (typeof v === 'string' ? (match(v) ? MATCH : NO_MATCH) : MISTYPED);
}

function numberTest(compare: (n: number) => boolean): ValueTest {
  return (v) => (typeof v === 'number' && Number.isFinite(v) ? (compare(v) ? MATCH : NO_MATCH) : MISTYPED);
}

function dateTest(compare: (ms: number) => boolean): ValueTest {
  return (v) => {
    const ms = typeof v === 'number' || typeof v === 'string' ? toEpochMillis(v) : Number.NaN;
    return Number.isNaN(ms) ? MISTYPED : compare(ms) ? MATCH : NO_MATCH;
  };
}

function versionTest(operand: VersionOperand, accept: (order: number) => boolean): ValueTest {
  return (v) => {
    if (typeof v !== 'string') return MISTYPED;
    const order = compareVersion(v, operand);
    return Number.isNaN(order) ? MISTYPED : accept(order) ? MATCH : NO_MATCH;
  };
}

function scalarTest(values: readonly unknown[], ignoreCase: boolean): ValueTest {
  const operands = values.map((v) => (ignoreCase ? lower(v) : v));
  for (const v of operands) {
    if (!(typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)))) {
      throw new CompileError('scalar operand expected');
    }
  }
  const isScalar = (v: unknown): boolean => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (operands.length === 1) {
    const only = operands[0];
    return ignoreCase
      ? (v) => (isScalar(v) ? (lower(v) === only ? MATCH : NO_MATCH) : MISTYPED)
      : (v) => (v === only ? MATCH : isScalar(v) ? NO_MATCH : MISTYPED);
  }
  const set = new Set<unknown>(operands);
  return ignoreCase
    ? (v) => (isScalar(v) ? (set.has(lower(v)) ? MATCH : NO_MATCH) : MISTYPED)
    : (v) => (isScalar(v) ? (set.has(v) ? MATCH : NO_MATCH) : MISTYPED);
}

function valueTest(operator: Exclude<ClauseOperator, 'exists' | 'inSegment'>, values: readonly unknown[], ignoreCase: boolean): ValueTest {
  switch (operator) {
    case 'in':
    case 'notIn':
      return scalarTest(values, ignoreCase);
    case 'equals':
      if (values.length !== 1) throw new CompileError('one value expected');
      return scalarTest(values, ignoreCase);
    case 'startsWith':
      return stringTest(anyString(stringValues(values, ignoreCase), (s, o) => s.startsWith(o)), ignoreCase);
    case 'endsWith':
      return stringTest(anyString(stringValues(values, ignoreCase), (s, o) => s.endsWith(o)), ignoreCase);
    case 'contains':
      return stringTest(anyString(stringValues(values, ignoreCase), (s, o) => s.includes(o)), ignoreCase);
    case 'matches': {
      const patterns = stringValues(values, false).map((p) => new RegExp(p, ignoreCase ? 'iu' : 'u'));
      const max = FLAG_LIMITS.maxMatchSubjectLength;
      return (v) => {
        if (typeof v !== 'string' || v.length > max) return MISTYPED;
        for (const pattern of patterns) if (pattern.test(v)) return MATCH;
        return NO_MATCH;
      };
    }
    case 'lt': {
      const t = numberOperand(values);
      return numberTest((n) => n < t);
    }
    case 'lte': {
      const t = numberOperand(values);
      return numberTest((n) => n <= t);
    }
    case 'gt': {
      const t = numberOperand(values);
      return numberTest((n) => n > t);
    }
    case 'gte': {
      const t = numberOperand(values);
      return numberTest((n) => n >= t);
    }
    case 'before': {
      const t = dateOperand(values);
      return dateTest((ms) => ms < t);
    }
    case 'after': {
      const t = dateOperand(values);
      return dateTest((ms) => ms > t);
    }
    case 'semverEq':
      return versionTest(versionOperand(values), (o) => o === 0);
    case 'semverLt':
      return versionTest(versionOperand(values), (o) => o < 0);
    case 'semverLte':
      return versionTest(versionOperand(values), (o) => o <= 0);
    case 'semverGt':
      return versionTest(versionOperand(values), (o) => o > 0);
    case 'semverGte':
      return versionTest(versionOperand(values), (o) => o >= 0);
  }
}

/**
 * Array attributes match when any well-typed element matches (negate: when none does); arrays
 * with no well-typed element are treated like a missing attribute. Date objects count as dates.
 */
function objectVerdict(value: object, test: ValueTest, negate: boolean, acceptsDate: boolean): boolean {
  if (Array.isArray(value)) {
    let wellTyped = false;
    for (const element of value as unknown[]) {
      if (element === null || element === undefined || typeof element === 'object' || typeof element === 'function') continue;
      const r = test(element as string | number | boolean);
      if (r === MATCH) return !negate;
      if (r === NO_MATCH) wellTyped = true;
    }
    return wellTyped ? negate : false;
  }
  if (acceptsDate && value instanceof Date) {
    const r = test(value.getTime());
    return r === MISTYPED ? false : (r === MATCH) !== negate;
  }
  return false;
}

function predicate(get: AttributeGetter, test: ValueTest, negate: boolean, acceptsDate: boolean): ContextPredicate {
  return (context) => {
    const value = get(context);
    if (value === undefined || value === null || typeof value === 'function') return false;
    if (typeof value === 'object') return objectVerdict(value, test, negate, acceptsDate);
    const r = test(value as string | number | boolean);
    return r === MISTYPED ? false : (r === MATCH) !== negate;
  };
}

/**
 * Compiles a clause into a predicate. Semantics (docs/evaluation.md): a missing attribute
 * (undefined or null) or a value of a type the operator does not understand never matches, whether
 * or not the clause is negated; `exists` and `inSegment` are the exceptions (they are defined for
 * every context). `notIn` is `in` negated.
 */
export function compileClause(
  clause: ClauseV1,
  segment: (key: string) => SegmentMembership,
): ContextPredicate {
  const negate = clause.negate === true;
  const values = clause.values;
  if (!Array.isArray(values)) throw new CompileError('values must be an array');
  if (clause.operator === 'inSegment') {
    const segments = values.map((v) => segment(String(v)));
    if (segments.length === 0) throw new CompileError('inSegment takes at least one segment');
    if (segments.length === 1) {
      const only = segments[0]!;
      return (context) => only.contains(context) !== negate;
    }
    return (context) => {
      for (const s of segments) if (s.contains(context)) return !negate;
      return negate;
    };
  }
  if (typeof clause.attribute !== 'string') throw new CompileError('attribute must be a string');
  const path = parseAttributePath(clause.attribute);
  if (typeof path === 'string') throw new CompileError(`attribute ${path}`);
  const get = attributeGetter(path);
  if (clause.operator === 'exists') {
    return (context) => {
      const value = get(context);
      return (value !== undefined && value !== null && typeof value !== 'function') !== negate;
    };
  }
  const operator = clause.operator;
  const test = valueTest(operator, values, clause.caseInsensitive === true);
  return predicate(get, test, operator === 'notIn' ? !negate : negate, operator === 'before' || operator === 'after');
}

/** All predicates must hold (an empty list always holds). */
export function allOf(predicates: readonly ContextPredicate[]): ContextPredicate {
  const [a, b, c] = predicates;
  switch (predicates.length) {
    case 0:
      return ALWAYS;
    case 1:
      return a!;
    case 2:
      return (context) => a!(context) && b!(context);
    case 3:
      return (context) => a!(context) && b!(context) && c!(context);
    default:
      return (context) => {
        for (const p of predicates) if (!p(context)) return false;
        return true;
      };
  }
}
