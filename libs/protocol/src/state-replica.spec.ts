import canonicalize from 'canonicalize';
import * as fc from 'fast-check';
import { StateReplica } from './state-replica';
import { EMPTY_STATE_HASH, itemHash, stateHash } from './state-hash';
import type { ConfigItemSnapshotV1 } from './config';
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

const config = (key: string, value: unknown): ConfigItemSnapshotV1 => ({
  key,
  version: 1,
  merge: 'replace',
  clientVisible: false,
  tenantAttribute: 'tenantId',
  chain: ['staging'],
  layers: [{ scope: 'default', value, version: 1 }],
});

/** A copy as it arrives in a canonical JSON frame (keys in canonical order). */
const canonical = <T>(value: T): T => JSON.parse(canonicalize(value)!) as T;
/** A copy as it arrives from a producer that does not sort keys (JSON.stringify of the objects above). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('StateReplica', () => {
  it('starts empty, with the hash of the empty state', () => {
    const r = new StateReplica();
    expect(r.revision).toBe(0);
    expect(r.stateHash).toBe(EMPTY_STATE_HASH);
    expect(r.stateHash).toBe(stateHash([], []));
  });

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

  it('exposes the item hash of every item it holds, kept current by patches', () => {
    const r = new StateReplica();
    const segment = { key: 's', included: ['u'], excluded: [], rules: [], version: 1 };
    r.load(1, [flag('a', false), flag('b', true)], [segment], [config('c', 1)]);
    expect(Object.fromEntries(r.flagHashes)).toEqual({ a: itemHash(flag('a', false)), b: itemHash(flag('b', true)) });
    expect(Object.fromEntries(r.segmentHashes)).toEqual({ s: itemHash(segment) });
    expect(Object.fromEntries(r.configHashes)).toEqual({ c: itemHash(config('c', 1)) });
    r.apply(2, [{ type: 'flag.upsert', flag: flag('a', true, 2) }, { type: 'config.delete', key: 'c' }]);
    expect(r.flagHashes.get('a')).toBe(itemHash(flag('a', true, 2)));
    expect(r.configHashes.size).toBe(0);
  });

  it('takes a secret.changed notice as a revision that changes no state (nor the hash)', () => {
    const r = new StateReplica();
    r.load(4, [flag('a', false)], [], []);
    const before = r.stateHash;
    expect(r.apply(5, [{ type: 'secret.changed', path: 'payments/stripe/api-key' }])).toBe('applied');
    expect([r.revision, r.stateHash]).toEqual([5, before]);
  });

  describe('loadChecked', () => {
    const flags = [flag('a', false), flag('b', true)];
    const configs = [config('c', { limit: 10, burst: 2 })];
    const expected = stateHash(flags, [], configs);

    it('accepts a state in canonical key order (the fast path) with exact item hashes', () => {
      const r = new StateReplica();
      expect(r.loadChecked(7, canonical(flags), [], canonical(configs), expected)).toBe(true);
      expect(r.revision).toBe(7);
      expect(r.stateHash).toBe(expected);
      expect(r.flagHashes.get('a')).toBe(itemHash(flags[0]!));
      expect(r.configHashes.get('c')).toBe(itemHash(configs[0]!));
    });

    it('accepts the same state with keys in another order (the exact path decides)', () => {
      const r = new StateReplica();
      const unordered = plain(flags);
      expect(JSON.stringify(unordered[0])).not.toBe(canonicalize(unordered[0]));
      expect(r.loadChecked(7, unordered, [], plain(configs), expected)).toBe(true);
      expect(r.stateHash).toBe(expected);
      expect(r.flagHashes.get('b')).toBe(itemHash(flags[1]!));
    });

    it('refuses another state, in either key order, and then holds its exact hash', () => {
      for (const copy of [canonical, plain]) {
        const r = new StateReplica();
        const tampered = copy([flag('a', true), flag('b', true)]);
        expect(r.loadChecked(7, tampered, [], copy(configs), expected)).toBe(false);
        expect(r.stateHash).toBe(stateHash(tampered, [], configs));
        expect(r.flagHashes.get('a')).toBe(itemHash(flag('a', true)));
      }
    });

    it('agrees with load() and stateHash() for any state and any key order', () => {
      const value = fc.jsonValue({ maxDepth: 3 });
      const item = fc.record({ key: fc.string({ minLength: 1, maxLength: 4 }), version: fc.nat(), extra: fc.dictionary(fc.string({ maxLength: 3 }), value, { maxKeys: 4 }) });
      fc.assert(
        fc.property(fc.uniqueArray(item, { selector: (i) => i.key, maxLength: 5 }), fc.boolean(), fc.boolean(), (items, inCanonicalOrder, tamper) => {
          const state = items as unknown as FlagSnapshotV1[];
          const received = inCanonicalOrder ? canonical(state) : plain(state);
          const claimed = tamper && items.length > 0 ? stateHash([...state.slice(1), { ...state[0]!, version: state[0]!.version + 1 }], []) : stateHash(state, []);
          const r = new StateReplica();
          const ok = r.loadChecked(1, received, [], [], claimed);
          const reference = new StateReplica();
          reference.load(1, state, []);
          expect(ok).toBe(!(tamper && items.length > 0));
          expect(r.stateHash).toBe(reference.stateHash);
          expect([...r.flagHashes]).toEqual([...reference.flagHashes]);
        }),
        { numRuns: 300 },
      );
    });
  });
});
