import * as fc from 'fast-check';
import murmurhash from 'murmurhash';
import { murmur3, murmur3Prefix, murmur3Resume, primeMurmur3Text, utf8Bytes } from './murmur3.hash';

describe('murmur3', () => {
  // Published MurmurHash3_x86_32 vectors (SMHasher; collected in the widely cited list by Ian Boyd).
  it.each([
    ['', 0, 0x00000000],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\u0000\u0000\u0000\u0000', 0, 0x2362f9de],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['aaa', 0x9747b28c, 0x283e0130],
    ['aa', 0x9747b28c, 0x5d211726],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['abcd', 0x9747b28c, 0xf0478627],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['ab', 0x9747b28c, 0x74875592],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ['test', 0, 0xba6bd213],
    ['Hello, world!', 0, 0xc0363e43],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ])('hashes %j with seed %d to the published value', (text, seed, expected) => {
    expect(murmur3(text, seed)).toBe(expected);
  });

  it('agrees with the murmurhash package on arbitrary unicode strings and seeds', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), fc.nat(), (text, seed) => {
        expect(murmur3(text, seed)).toBe(murmurhash.v3(text, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it('resumes from a prefix state exactly as if hashing the concatenation', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), (a, b) => {
        expect(murmur3Resume(murmur3Prefix(a), b)).toBe(murmur3(a + b));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same hashes for a primed text, under prefixes of every alignment', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 300 }), (prefix, text) => {
        const state = murmur3Prefix(prefix);
        const plain = murmur3Resume(state, text);
        expect(primeMurmur3Text(text)).toBe(true);
        expect(murmur3Resume(state, text)).toBe(plain);
        expect(murmur3Resume(murmur3Prefix(`${prefix}x`), text)).toBe(murmur3(`${prefix}x${text}`));
        expect(murmur3Resume(state, `${text}y`)).toBe(murmur3(`${prefix}${text}y`));
      }),
      { numRuns: 2000 },
    );
    expect(primeMurmur3Text('x'.repeat(1025))).toBe(false);
    expect(murmur3Resume(murmur3Prefix('a:'), 'x'.repeat(1025))).toBe(murmur3(`a:${'x'.repeat(1025)}`));
  });

  it('encodes UTF-8 like TextEncoder, lone surrogates as U+FFFD', () => {
    const encoder = new TextEncoder();
    for (const text of ['a', 'é', '€', '😀', '\ud800', 'x\udc00y', '\ud83d\ude00\ud83d']) {
      expect(utf8Bytes(text)).toEqual([...encoder.encode(text)]);
    }
  });
});
