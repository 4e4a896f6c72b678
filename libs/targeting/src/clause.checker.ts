import {
  CASE_INSENSITIVE_OPERATORS,
  CLAUSE_OPERATORS,
  type ClauseOperator,
  type ValidationProblem,
} from '@flagstream/protocol';
import { parseAttributePath } from './attribute-path.resolver';
import { toEpochMillis } from './date.parser';
import { patternProblem } from './pattern.safety';
import { parseVersionOperand } from './semver.comparator';

const OPERATORS = new Set<string>(CLAUSE_OPERATORS);
const CASE_INSENSITIVE = new Set<string>(CASE_INSENSITIVE_OPERATORS);

/** How many values each operator takes: 'one', 'some' (at least one) or 'none'. */
export const OPERATOR_ARITY: Readonly<Record<ClauseOperator, 'one' | 'some' | 'none'>> = {
  in: 'some',
  notIn: 'some',
  equals: 'one',
  startsWith: 'some',
  endsWith: 'some',
  contains: 'some',
  matches: 'some',
  lt: 'one',
  lte: 'one',
  gt: 'one',
  gte: 'one',
  before: 'one',
  after: 'one',
  semverEq: 'one',
  semverLt: 'one',
  semverLte: 'one',
  semverGt: 'one',
  semverGte: 'one',
  exists: 'none',
  inSegment: 'some',
};

function isScalar(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** The problem with one operand of `operator`, or null. */
function valueProblem(operator: ClauseOperator, value: unknown, ignoreCase: boolean): string | null {
  switch (operator) {
    case 'in':
    case 'notIn':
    case 'equals':
      return isScalar(value) ? null : `must be a string, a finite number or a boolean for ${operator}`;
    case 'startsWith':
    case 'endsWith':
    case 'contains':
    case 'inSegment':
      return typeof value === 'string' ? null : `must be a string for ${operator}`;
    case 'matches':
      return typeof value === 'string' ? patternProblem(value, ignoreCase) : 'must be a string (a regular expression) for matches';
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return typeof value === 'number' && Number.isFinite(value) ? null : `must be a finite number for ${operator}`;
    case 'before':
    case 'after':
      return (typeof value === 'number' || typeof value === 'string') && !Number.isNaN(toEpochMillis(value))
        ? null
        : `must be a date for ${operator}: epoch milliseconds or ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:mm:ss with Z or an offset)`;
    case 'semverEq':
    case 'semverLt':
    case 'semverLte':
    case 'semverGt':
    case 'semverGte':
      return typeof value === 'string' && parseVersionOperand(value) ? null : `must be a valid semantic version for ${operator}`;
    case 'exists':
      return 'exists takes no values';
  }
}

/**
 * The semantic problems of one clause (operator arity and operand types, attribute path, pattern
 * safety, segment references). Structural problems of a malformed clause (wrong JSON types) are
 * left to the JSON Schema and skipped here. `hasSegment` answers whether a segment key exists.
 */
export function clauseProblems(clause: unknown, path: string, hasSegment: (key: string) => boolean): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  if (clause === null || typeof clause !== 'object') return problems;
  const { attribute, operator, values, caseInsensitive } = clause as Record<string, unknown>;
  if (typeof operator !== 'string' || !OPERATORS.has(operator)) return problems;
  const op = operator as ClauseOperator;
  if (op === 'inSegment') {
    if (attribute !== undefined && attribute !== '') {
      problems.push({ path: `${path}.attribute`, message: 'must be omitted for inSegment (membership uses targetingKey)' });
    }
  } else if (attribute === undefined) {
    problems.push({ path: `${path}.attribute`, message: `is required for ${op}` });
  } else if (typeof attribute === 'string') {
    const parsed = parseAttributePath(attribute);
    if (typeof parsed === 'string') problems.push({ path: `${path}.attribute`, message: parsed });
  }
  if (caseInsensitive === true && !CASE_INSENSITIVE.has(op)) {
    problems.push({ path: `${path}.caseInsensitive`, message: `is not supported by ${op}` });
  }
  if (!Array.isArray(values)) return problems;
  const arity = OPERATOR_ARITY[op];
  if (arity === 'one' && values.length !== 1) {
    problems.push({ path: `${path}.values`, message: `${op} takes exactly one value` });
  } else if (arity === 'some' && values.length === 0) {
    problems.push({ path: `${path}.values`, message: `${op} takes at least one value` });
  } else if (arity === 'none' && values.length > 0) {
    problems.push({ path: `${path}.values`, message: `${op} takes no values` });
  }
  if (arity === 'none') return problems;
  values.forEach((value, index) => {
    const problem = valueProblem(op, value, caseInsensitive === true);
    if (problem) problems.push({ path: `${path}.values[${index}]`, message: problem });
    else if (op === 'inSegment' && typeof value === 'string' && !hasSegment(value)) {
      problems.push({ path: `${path}.values[${index}]`, message: `unknown segment "${value}"` });
    }
  });
  return problems;
}
