import type { SegmentDefinitionV1 } from '@flagstream/protocol';
import { validateSegment } from './segment.validator';

const segment = (key: string, refs: string[] = []): SegmentDefinitionV1 => ({
  key,
  included: [],
  excluded: [],
  rules: refs.map((ref, i) => ({ id: `r${i}`, clauses: [{ operator: 'inSegment', values: [ref] }] })),
});

describe('validateSegment', () => {
  it('accepts a valid segment', () => {
    const valid: SegmentDefinitionV1 = {
      key: 'beta-users',
      included: ['alice', 'User With Spaces'],
      excluded: ['mallory'],
      rules: [{ id: 'staff', clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@flagstream.dev'] }] }],
    };
    expect(validateSegment(valid, { segments: new Map() })).toEqual([]);
  });

  it('reports schema and clause problems with paths', () => {
    expect(
      validateSegment(
        { key: 'x', included: [''], excluded: [], rules: [{ id: 'a', clauses: [{ attribute: 'n', operator: 'gt', values: ['1'] }] }, { id: 'a', clauses: [] }] },
        { segments: new Map() },
      ),
    ).toEqual([
      { path: 'included[0]', message: 'must NOT have fewer than 1 characters' },
      { path: 'rules[0].clauses[0].values[0]', message: 'must be a finite number for gt' },
      { path: 'rules[1].id', message: 'duplicate rule id "a"' },
    ]);
  });

  it('reports unknown segments and reference cycles through the validated segment', () => {
    const segments = new Map([
      ['a', segment('a', ['b'])],
      ['b', segment('b', ['c'])],
      ['c', segment('c')],
    ]);
    expect(validateSegment(segment('c', ['a', 'nope']), { segments })).toEqual([
      { path: 'rules[0].clauses[0].values[0]', message: 'segment reference cycle: c -> a -> b -> c' },
      { path: 'rules[1].clauses[0].values[0]', message: 'unknown segment "nope"' },
    ]);
    expect(validateSegment(segment('self', ['self']), { segments: new Map() })).toEqual([
      { path: 'rules[0].clauses[0].values[0]', message: 'segment reference cycle: self -> self' },
    ]);
    expect(validateSegment(segment('d', ['a']), { segments })).toEqual([]);
  });
});
