import { combineStateHash, itemHash, stateHash } from './state-hash';
import type { FlagSnapshotV1 } from './flags';

const flag: FlagSnapshotV1 = {
  key: 'a',
  kind: 'boolean',
  variations: [
    { key: 'on', value: true },
    { key: 'off', value: false },
  ],
  clientVisible: false,
  settings: { on: true, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'on' }, salt: 'a' },
  version: 2,
};

describe('state hash', () => {
  it('hashes the empty state as SHA-256 of the empty string', () => {
    expect(stateHash([], [])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('hashes items by their canonical JSON, so key order does not matter (a fixed vector)', () => {
    const reordered = JSON.parse(JSON.stringify({ version: 2, settings: flag.settings, clientVisible: false, variations: flag.variations, kind: 'boolean', key: 'a' })) as FlagSnapshotV1;
    expect(itemHash(reordered)).toBe(itemHash(flag));
    expect(itemHash(flag)).toBe('d29c1fe8c027ecd74b0b3f87011f6c3b1d4e2cda8eaaedf915cdebdcb3f130fd');
    expect(stateHash([flag], [])).toBe('51ae50c59a46f90326b3ae028561411223c838e5076873af2ee1f4e98e4f7eff');
    expect(stateHash([flag], [])).toBe(combineStateHash(new Map([['a', itemHash(flag)]]), new Map()));
  });

  it('changes with any change of state and does not depend on list order', () => {
    const b = { ...flag, key: 'b', settings: { ...flag.settings, salt: 'b' } };
    const base = stateHash([flag, b], []);
    expect(stateHash([b, flag], [])).toBe(base);
    expect(stateHash([flag], [])).not.toBe(base);
    expect(stateHash([flag, { ...b, version: 3 }], [])).not.toBe(base);
    expect(stateHash([flag, b], [{ key: 's', included: [], excluded: [], rules: [], version: 1 }])).not.toBe(base);
  });
});
