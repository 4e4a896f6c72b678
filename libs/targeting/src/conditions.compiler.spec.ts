import type { ClauseV1 } from '@flagstream/protocol';
import { compileConditions, validateConditions } from './conditions.compiler';

describe('compileConditions', () => {
  it('holds when every clause holds, with the semantics of flag rules', () => {
    const c = compileConditions([
      { attribute: 'country', operator: 'in', values: ['de', 'at'] },
      { attribute: 'version', operator: 'semverGte', values: ['2.0.0'] },
    ] as ClauseV1[]);
    expect(c.test({ country: 'de', version: '2.1.0' })).toBe(true);
    expect(c.test({ country: 'de', version: '1.9.0' })).toBe(false);
    expect(c.test({ country: 'fr', version: '2.1.0' })).toBe(false);
    // Results are not memoised across calls with different contexts.
    expect(c.test({ country: 'at', version: '3.0.0' })).toBe(true);
  });

  it('resolves segments it is given and refuses unknown ones', () => {
    const segments = [{ key: 'staff', included: ['ann'], excluded: [], rules: [] }];
    const c = compileConditions([{ attribute: '', operator: 'inSegment', values: ['staff'] }] as ClauseV1[], segments);
    expect(c.test({ targetingKey: 'ann' })).toBe(true);
    expect(c.test({ targetingKey: 'bob' })).toBe(false);
    expect(() => compileConditions([{ attribute: '', operator: 'inSegment', values: ['ghost'] }] as ClauseV1[])).toThrow('unknown segment "ghost"');
  });
});

describe('validateConditions', () => {
  it('lists schema and operand problems with paths', () => {
    expect(validateConditions([{ attribute: 'plan', operator: 'in', values: ['pro'] }], () => false)).toEqual([]);
    expect(validateConditions('x', () => false)).toEqual([{ path: '', message: 'must be an array of clauses' }]);
    expect(validateConditions([], () => false)).toEqual([{ path: '', message: 'must hold at least one clause' }]);
    const problems = validateConditions([{ attribute: 'plan', operator: 'nope', values: [] }, { attribute: '', operator: 'inSegment', values: ['ghost'] }], () => false);
    expect(problems.map((p) => p.path)).toEqual(expect.arrayContaining(['[0].operator', '[1].values[0]']));
  });
});
