import { StateReplica } from './state-replica';
import { stateHash } from './state-hash';
import type { FlagSnapshotV1 } from './flags';

const flag = (key: string, on: boolean, version = 1): FlagSnapshotV1 => ({
  key,
  kind: 'boolean',
  variations: [
    { key: 'on', value: true },
    { key: 'off', value: false },
  ],
  clientVisible: false,
  settings: { on, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'on' }, salt: key },
  version,
});

describe('StateReplica', () => {
  it('applies changes strictly in revision order and keeps the hash equal to a full re-hash', () => {
    const r = new StateReplica();
    r.load(3, [flag('a', false)], []);
    expect(r.stateHash).toBe(stateHash([flag('a', false)], []));
    expect(r.apply(3, [])).toBe('duplicate');
    expect(r.apply(5, [])).toBe('gap');
    expect(r.apply(4, [{ type: 'flag.upsert', flag: flag('b', true) }, { type: 'segment.upsert', segment: { key: 's', included: ['u'], excluded: [], rules: [], version: 1 } }])).toBe('applied');
    expect(r.apply(5, [{ type: 'flag.delete', key: 'a' }, { type: 'segment.delete', key: 's' }])).toBe('applied');
    expect(r.revision).toBe(5);
    expect(r.flags().map((f) => f.key)).toEqual(['b']);
    expect(r.segments()).toEqual([]);
    expect(r.stateHash).toBe(stateHash([flag('b', true)], []));
  });
});
