import fc from 'fast-check';
import { applyVersion, diffStates, EMPTY_ITEM_STATE, replayVersions, sameJson, type ConfigDefinition, type ConfigItemState, type ConfigVersionRecord, type StoredLayer } from './config-history';

const definition: ConfigDefinition = { description: 'limits', schema: { type: 'integer' }, merge: 'replace', clientVisible: false, tags: [] };

const history: ConfigVersionRecord[] = [
  {
    version: 1,
    changes: [
      { kind: 'definition', before: null, after: definition },
      { kind: 'layer', address: { scope: 'default' }, before: null, after: { value: 10 } },
    ],
  },
  { version: 2, changes: [{ kind: 'layer', address: { scope: 'environment', environment: 'prod' }, before: null, after: { value: 20 } }] },
  { version: 3, changes: [{ kind: 'layer', address: { scope: 'tenant', environment: 'prod', tenant: 'acme' }, before: null, after: { value: 30 } }] },
  { version: 4, changes: [{ kind: 'layer', address: { scope: 'environment', environment: 'prod' }, before: { value: 20 }, after: null }] },
];

describe('config history', () => {
  it('replays versions into the state at each of them, stamping layers with the version that wrote them', () => {
    expect(replayVersions(history.slice(0, 3))).toEqual({
      version: 3,
      definition,
      layers: [
        { scope: 'default', value: 10, version: 1 },
        { scope: 'environment', environment: 'prod', value: 20, version: 2 },
        { scope: 'tenant', environment: 'prod', tenant: 'acme', value: 30, version: 3 },
      ],
    });
    expect(replayVersions(history).layers.map((l) => l.value)).toEqual([10, 30]);
  });

  it('diffs two states into the changes that turn one into the other (a rollback)', () => {
    const at2 = replayVersions(history.slice(0, 2));
    const now = replayVersions(history);
    const changes = diffStates(now, at2);
    expect(changes).toEqual([
      { kind: 'layer', address: { scope: 'environment', environment: 'prod' }, before: null, after: { value: 20 } },
      { kind: 'layer', address: { scope: 'tenant', environment: 'prod', tenant: 'acme' }, before: { value: 30 }, after: null },
    ]);
    const rolledBack = applyVersion(now, { version: 5, changes });
    expect(rolledBack.layers.map(({ version: _v, ...l }) => l)).toEqual(at2.layers.map(({ version: _v, ...l }) => l));
    expect(diffStates(now, now)).toEqual([]);
  });

  it('diff then apply reaches the target state for any two states (property)', () => {
    const layer = fc.record({
      scope: fc.constantFrom('default' as const, 'environment' as const, 'tenant' as const),
      environment: fc.constantFrom('prod', 'dev'),
      tenant: fc.constantFrom('a', 'b'),
      value: fc.jsonValue(),
    }).map((l): StoredLayer => (l.scope === 'default' ? { scope: 'default', value: l.value, version: 1 } : l.scope === 'environment' ? { scope: 'environment', environment: l.environment, value: l.value, version: 1 } : { ...l, version: 1 }));
    const state = fc.array(layer, { maxLength: 6 }).map((layers): ConfigItemState => ({ version: 1, definition, layers: replayVersions([{ version: 1, changes: layers.map((l) => ({ kind: 'layer' as const, address: l, before: null, after: { value: l.value } })) }]).layers }));
    fc.assert(
      fc.property(state, state, (a, b) => {
        const next = applyVersion(a, { version: 2, changes: diffStates(a, b) });
        expect(diffStates(next, b)).toEqual([]);
      }),
    );
  });

  it('compares JSON structurally', () => {
    expect(sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson([1], { 0: 1 })).toBe(false);
    expect(sameJson(null, {})).toBe(false);
    expect(EMPTY_ITEM_STATE).toEqual({ version: 0, definition: null, layers: [] });
  });
});
