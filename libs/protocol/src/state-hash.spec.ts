import canonicalize from 'canonicalize';
import * as fc from 'fast-check';
import { EMPTY_STATE_HASH, canonicalJson, combineStateHash, itemHash, sha256Hex, sha256Implementation, stateHash } from './state-hash';
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

describe('canonicalJson', () => {
  /** Reorders every object's keys (deeply), as a producer that does not sort them would. */
  function shuffled(value: unknown, seed: number): unknown {
    if (Array.isArray(value)) return value.map((v, i) => shuffled(v, seed + i));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const order = entries.map((e, i) => [e, (i * 7919 + seed * 104_729) % 1_000_003] as const).sort((a, b) => a[1] - b[1]);
    return Object.fromEntries(order.map(([[k, v]], i) => [k, shuffled(v, seed + i)]));
  }

  function sameAsReference(value: unknown): void {
    let expected: string | undefined;
    let failure: unknown = null;
    try {
      expected = canonicalize(value);
    } catch (e) {
      failure = e;
    }
    if (failure) expect(() => canonicalJson(value)).toThrow((failure as Error).message);
    else expect(canonicalJson(value)).toBe(expected);
  }

  it('writes exactly what the canonicalize package writes, for JSON data in any key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, seed) => {
        sameAsReference(value);
        sameAsReference(shuffled(value, seed));
        // Parsed from canonical text, keys come back in canonical order (except integer-like keys).
        sameAsReference(JSON.parse(canonicalize(value) ?? 'null'));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes exactly what the canonicalize package writes (or throws the same) for anything else', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true, withTypedArray: true, withObjectString: true }),
        (value) => sameAsReference(value),
      ),
      { numRuns: 2000 },
    );
  });

  it('handles the cases where the native serialiser and RFC 8785 differ', () => {
    const cases: unknown[] = [
      { b: 1, a: 2 },
      { '10': 1, '2': 2, a: 3 },
      [1, undefined, () => 1, Symbol('s')],
      { a: undefined, b: () => 1, c: Symbol('s'), d: 1 },
      { toJSON: () => ({ z: 1, a: 2 }) },
      { d: new Date(0), n: Object(1), s: Object('x'), m: new Map([[1, 2]]) },
      // eslint-disable-next-line no-sparse-arrays
      [, 1],
      { x: -0, y: 1e21, z: 1e-7, u: '\u2028\ud800"\\' },
      Object.assign(Object.create(null) as object, { b: 1, a: [{ d: 1, c: 2 }] }),
    ];
    for (const value of cases) sameAsReference(value);
    expect(() => canonicalJson({ a: Number.NaN })).toThrow('NaN is not allowed');
    expect(canonicalJson(() => 1)).toBeUndefined();
    expect(canonicalJson({ b: [{ y: 1, x: 2 }], a: null })).toBe('{"a":null,"b":[{"x":2,"y":1}]}');
  });

  it('hashes an item the same whatever the order of its keys (RFC 8785 is the hash input)', () => {
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        expect(itemHash(shuffled(flag, seed) as FlagSnapshotV1)).toBe('d29c1fe8c027ecd74b0b3f87011f6c3b1d4e2cda8eaaedf915cdebdcb3f130fd');
      }),
      { numRuns: 50 },
    );
  });
});

describe('sha256Hex', () => {
  it('uses Node’s native SHA-256 here, and the portable one where the runtime does not offer it, with the same digests', () => {
    expect(sha256Implementation()).toBe('native');
    const runtime = process as unknown as { getBuiltinModule?: unknown };
    const original = runtime.getBuiltinModule;
    let portable: typeof import('./state-hash') | undefined;
    try {
      runtime.getBuiltinModule = undefined;
      jest.isolateModules(() => {
        portable = jest.requireActual<typeof import('./state-hash')>('./state-hash');
      });
    } finally {
      runtime.getBuiltinModule = original;
    }
    expect(portable!.sha256Implementation()).toBe('portable');
    expect(portable!.stateHash([flag], [])).toBe('51ae50c59a46f90326b3ae028561411223c838e5076873af2ee1f4e98e4f7eff');
    expect(portable!.sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(sha256Hex(text)).toBe(portable!.sha256Hex(text));
      }),
      { numRuns: 500 },
    );
    // Lone surrogates are encoded the same way (U+FFFD) by both.
    expect(sha256Hex('a\ud800b')).toBe(portable!.sha256Hex('a\ud800b'));
  });
});

describe('EMPTY_STATE_HASH', () => {
  it('is the hash of the empty state', () => {
    expect(EMPTY_STATE_HASH).toBe(stateHash([], [], []));
  });
});
