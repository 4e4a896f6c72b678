import type { ClauseV1 } from '@flagstream/protocol';
import { allHold, compileClause, CompileError, nextEvaluationPass, type ClauseInterner, type SegmentMembership } from './clause.compiler';

const NO_SEGMENTS = (key: string): SegmentMembership => {
  throw new CompileError(`unknown segment ${key}`);
};

function matches(clause: ClauseV1, context: Record<string, unknown>): boolean {
  nextEvaluationPass();
  return compileClause(clause, NO_SEGMENTS).test(context);
}

/** The verdicts of a clause and of its negation on one context. */
function both(clause: ClauseV1, context: Record<string, unknown>): [boolean, boolean] {
  return [matches(clause, context), matches({ ...clause, negate: true }, context)];
}

describe('compileClause', () => {
  describe('in / notIn', () => {
    const inList: ClauseV1 = { attribute: 'country', operator: 'in', values: ['US', 'CA', 1, true] };
    const notIn: ClauseV1 = { ...inList, operator: 'notIn' };

    it('matches listed values of the same type, without coercion', () => {
      expect(matches(inList, { country: 'US' })).toBe(true);
      expect(matches(inList, { country: 'DE' })).toBe(false);
      expect(matches(inList, { country: 1 })).toBe(true);
      expect(matches(inList, { country: '1' })).toBe(false);
      expect(matches(inList, { country: true })).toBe(true);
      expect(matches(inList, { country: 'us' })).toBe(false);
    });

    it('is inverted by notIn and by negate, on well-typed values', () => {
      expect(both(inList, { country: 'DE' })).toEqual([false, true]);
      expect(both(notIn, { country: 'DE' })).toEqual([true, false]);
      expect(both(notIn, { country: 'US' })).toEqual([false, true]);
    });

    it('never matches a missing attribute or a non-scalar value, negated or not', () => {
      for (const context of [{}, { country: null }, { country: undefined }, { country: { code: 'US' } }, { country: () => 'US' }]) {
        expect(both(inList, context)).toEqual([false, false]);
        expect(both(notIn, context)).toEqual([false, false]);
      }
    });

    it('matches arrays when any element matches, notIn when none does', () => {
      expect(matches(inList, { country: ['DE', 'US'] })).toBe(true);
      expect(matches(notIn, { country: ['DE', 'US'] })).toBe(false);
      expect(matches(notIn, { country: ['DE', 'FR'] })).toBe(true);
      expect(both(inList, { country: [] })).toEqual([false, false]);
      expect(both(inList, { country: [{}, null] })).toEqual([false, false]);
    });

    it('compares case-insensitively when asked', () => {
      expect(matches({ ...inList, caseInsensitive: true }, { country: 'us' })).toBe(true);
      expect(matches({ ...inList, caseInsensitive: true }, { country: 'De' })).toBe(false);
    });
  });

  describe('equals', () => {
    const plan: ClauseV1 = { attribute: 'tenant.plan', operator: 'equals', values: ['enterprise'] };

    it('reads paths of any depth', () => {
      const deep: ClauseV1 = { attribute: 'a.b.c.d', operator: 'equals', values: ['x'] };
      expect(matches(deep, { a: { b: { c: { d: 'x' } } } })).toBe(true);
      expect(both(deep, { a: { b: { c: 'x' } } })).toEqual([false, false]);
      expect(both(deep, { a: { b: null } })).toEqual([false, false]);
    });

    it('compares strictly, through a nested attribute path', () => {
      expect(matches(plan, { tenant: { plan: 'enterprise' } })).toBe(true);
      expect(matches(plan, { tenant: { plan: 'Enterprise' } })).toBe(false);
      expect(matches({ ...plan, caseInsensitive: true }, { tenant: { plan: 'Enterprise' } })).toBe(true);
      expect(both({ attribute: 'n', operator: 'equals', values: [3] }, { n: 3 })).toEqual([true, false]);
      expect(both({ attribute: 'n', operator: 'equals', values: [3] }, { n: '3' })).toEqual([false, true]);
    });

    it('never matches a missing path or a non-object on the way', () => {
      for (const context of [{}, { tenant: null }, { tenant: 'enterprise' }, { tenant: {} }, { tenant: { plan: {} } }]) {
        expect(both(plan, context)).toEqual([false, false]);
      }
    });
  });

  describe('startsWith / endsWith / contains', () => {
    it('match strings against any operand', () => {
      expect(matches({ attribute: 'email', operator: 'endsWith', values: ['@example.com', '@corp.io'] }, { email: 'a@corp.io' })).toBe(true);
      expect(matches({ attribute: 'email', operator: 'endsWith', values: ['@example.com'] }, { email: 'a@example.org' })).toBe(false);
      expect(matches({ attribute: 'path', operator: 'startsWith', values: ['/admin'] }, { path: '/admin/users' })).toBe(true);
      expect(matches({ attribute: 'ua', operator: 'contains', values: ['Firefox'] }, { ua: 'Mozilla/5.0 Firefox/120' })).toBe(true);
    });

    it('support case-insensitive comparison', () => {
      const clause: ClauseV1 = { attribute: 'ua', operator: 'contains', values: ['FireFox'], caseInsensitive: true };
      expect(matches(clause, { ua: 'mozilla firefox' })).toBe(true);
      expect(matches({ ...clause, caseInsensitive: false }, { ua: 'mozilla firefox' })).toBe(false);
    });

    it('treat non-strings as mistyped: no match, negated or not', () => {
      const clause: ClauseV1 = { attribute: 'email', operator: 'endsWith', values: ['1'] };
      expect(both(clause, { email: 1 })).toEqual([false, false]);
      expect(both(clause, {})).toEqual([false, false]);
      expect(both(clause, { email: 'x1' })).toEqual([true, false]);
    });
  });

  describe('matches', () => {
    const clause: ClauseV1 = { attribute: 'email', operator: 'matches', values: ['^[a-z]+@example\\.com$'] };

    it('tests a compiled regular expression', () => {
      expect(both(clause, { email: 'alice@example.com' })).toEqual([true, false]);
      expect(both(clause, { email: 'Alice@example.com' })).toEqual([false, true]);
      expect(matches({ ...clause, caseInsensitive: true }, { email: 'Alice@example.com' })).toBe(true);
    });

    it('treats non-strings and over-long subjects as mistyped', () => {
      expect(both(clause, { email: 42 })).toEqual([false, false]);
      expect(both({ attribute: 's', operator: 'matches', values: ['a'] }, { s: 'a'.repeat(1025) })).toEqual([false, false]);
      expect(matches({ attribute: 's', operator: 'matches', values: ['a'] }, { s: 'a'.repeat(1024) })).toBe(true);
    });
  });

  describe('lt / lte / gt / gte', () => {
    it.each([
      ['lt', 9, true],
      ['lt', 10, false],
      ['lte', 10, true],
      ['lte', 11, false],
      ['gt', 11, true],
      ['gt', 10, false],
      ['gte', 10, true],
      ['gte', 9, false],
    ] as const)('%s 10 on %d is %s', (operator, age, expected) => {
      expect(matches({ attribute: 'age', operator, values: [10] }, { age })).toBe(expected);
    });

    it('treats strings, NaN and infinities as mistyped', () => {
      for (const age of ['5', Number.NaN, Infinity, true]) {
        expect(both({ attribute: 'age', operator: 'lt', values: [10] }, { age })).toEqual([false, false]);
      }
    });
  });

  describe('before / after', () => {
    const before: ClauseV1 = { attribute: 'signup', operator: 'before', values: ['2024-06-01T00:00:00Z'] };
    const after: ClauseV1 = { attribute: 'signup', operator: 'after', values: [Date.UTC(2024, 5, 1)] };

    it('compares ISO strings, epoch milliseconds and Date objects', () => {
      expect(matches(before, { signup: '2024-05-31' })).toBe(true);
      expect(matches(before, { signup: '2024-06-01T00:00:00Z' })).toBe(false);
      expect(matches(before, { signup: '2024-06-01T01:00:00+02:00' })).toBe(true);
      expect(matches(before, { signup: Date.UTC(2024, 4, 1) })).toBe(true);
      expect(matches(after, { signup: '2024-06-01T00:00:00.001Z' })).toBe(true);
      expect(matches(after, { signup: new Date(Date.UTC(2025, 0, 1)) })).toBe(true);
      expect(matches(after, { signup: '2024-06-01' })).toBe(false);
    });

    it('treats unparseable dates as mistyped', () => {
      for (const signup of ['yesterday', '2024-13-01', '2024-06-01T10:00:00', true, Number.NaN]) {
        expect(both(before, { signup })).toEqual([false, false]);
      }
    });
  });

  describe('semver', () => {
    it.each([
      ['semverEq', '2.3.0', true],
      ['semverEq', 'v2.3.0', true],
      ['semverEq', '2.3.0+build.7', true],
      ['semverGte', '2.3.0', true],
      ['semverGte', '2.3.0-rc.1', false],
      ['semverGte', '2.10.0', true],
      ['semverGt', '2.3.1', true],
      ['semverGt', '2.3.0', false],
      ['semverLt', '2.2.99', true],
      ['semverLt', '10.0.0', false],
      ['semverLte', '2.3.0', true],
      ['semverLte', '2.3.0-alpha', true],
    ] as const)('%s 2.3.0 on %s is %s', (operator, version, expected) => {
      expect(matches({ attribute: 'appVersion', operator, values: ['2.3.0'] }, { appVersion: version })).toBe(expected);
    });

    it('orders prerelease operands like the semver specification', () => {
      const clause: ClauseV1 = { attribute: 'v', operator: 'semverGt', values: ['1.0.0-rc.1'] };
      expect(matches(clause, { v: '1.0.0' })).toBe(true);
      expect(matches(clause, { v: '1.0.0-rc.2' })).toBe(true);
      expect(matches(clause, { v: '1.0.0-beta' })).toBe(false);
    });

    it('treats invalid versions and non-strings as mistyped', () => {
      for (const v of ['2.3', '02.3.0', 'latest', 230, '']) {
        expect(both({ attribute: 'v', operator: 'semverGte', values: ['2.3.0'] }, { v })).toEqual([false, false]);
      }
    });
  });

  describe('exists', () => {
    const clause: ClauseV1 = { attribute: 'tenant.id', operator: 'exists', values: [] };

    it('is true for any present value and is the only operator negation makes true on a missing one', () => {
      expect(both(clause, { tenant: { id: '' } })).toEqual([true, false]);
      expect(both(clause, { tenant: { id: 0 } })).toEqual([true, false]);
      expect(both(clause, { tenant: { id: null } })).toEqual([false, true]);
      expect(both(clause, { tenant: {} })).toEqual([false, true]);
      expect(both(clause, {})).toEqual([false, true]);
    });

    it('does not see inherited object properties', () => {
      expect(matches({ attribute: 'toString', operator: 'exists', values: [] }, {})).toBe(false);
      expect(matches({ attribute: 'hasOwnProperty', operator: 'in', values: ['x'] }, {})).toBe(false);
    });
  });

  describe('inSegment', () => {
    const beta: SegmentMembership = { key: 'beta', contains: (context) => context['targetingKey'] === 'u1' };
    const staff: SegmentMembership = { key: 'staff', contains: (context) => context['staff'] === true };
    const lookup = (key: string): SegmentMembership => ({ beta, staff })[key]!;

    it('matches members of any listed segment; negate selects non-members, even without a key', () => {
      const clause: ClauseV1 = { operator: 'inSegment', values: ['beta', 'staff'] };
      const test = (c: ClauseV1, context: Record<string, unknown>): boolean => {
        nextEvaluationPass();
        return compileClause(c, lookup).test(context);
      };
      expect(test(clause, { targetingKey: 'u1' })).toBe(true);
      expect(test(clause, { staff: true })).toBe(true);
      expect(test(clause, {})).toBe(false);
      expect(test({ ...clause, negate: true }, {})).toBe(true);
    });

    it('fails to compile when a segment is unknown', () => {
      expect(() => compileClause({ operator: 'inSegment', values: ['nope'] }, NO_SEGMENTS)).toThrow(CompileError);
    });
  });

  it('rejects operands of the wrong type at compile time', () => {
    expect(() => compileClause({ attribute: 'a', operator: 'lt', values: ['10'] }, NO_SEGMENTS)).toThrow(CompileError);
    expect(() => compileClause({ attribute: 'a', operator: 'semverEq', values: ['x'] }, NO_SEGMENTS)).toThrow(CompileError);
    expect(() => compileClause({ attribute: 'a', operator: 'before', values: ['soon'] }, NO_SEGMENTS)).toThrow(CompileError);
    expect(() => compileClause({ attribute: '__proto__', operator: 'exists', values: [] }, NO_SEGMENTS)).toThrow(CompileError);
  });

  it('combines clauses with AND, and an empty list always holds', () => {
    const a = compileClause({ attribute: 'a', operator: 'equals', values: [1] }, NO_SEGMENTS);
    const b = compileClause({ attribute: 'b', operator: 'equals', values: [2] }, NO_SEGMENTS);
    const check = (context: Record<string, unknown>, clauses = [a, b]): boolean => {
      nextEvaluationPass();
      return allHold(clauses, context);
    };
    expect(check({}, [])).toBe(true);
    expect(check({ a: 1, b: 2 })).toBe(true);
    expect(check({ a: 1, b: 3 })).toBe(false);
    expect(check({ a: 1 }, [a, b, a, b])).toBe(false);
  });

  it('interns identical clauses and memoises their result within one evaluation pass', () => {
    const interner: ClauseInterner = new Map();
    const clause: ClauseV1 = { attribute: 'a', operator: 'in', values: ['x', 'y'] };
    const first = compileClause(clause, NO_SEGMENTS, interner);
    expect(compileClause({ ...clause, values: ['x', 'y'] }, NO_SEGMENTS, interner)).toBe(first);
    expect(compileClause({ ...clause, negate: true }, NO_SEGMENTS, interner)).not.toBe(first);
    let reads = 0;
    const context = {
      get a(): string {
        reads++;
        return 'x';
      },
    };
    nextEvaluationPass();
    expect([first.test(context), first.test(context)]).toEqual([true, true]);
    expect(reads).toBe(1);
    nextEvaluationPass();
    expect(first.test({ a: 'z' })).toBe(false);
  });
});
