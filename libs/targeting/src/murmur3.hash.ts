/*
 * MurmurHash3, x86 32-bit variant (Austin Appleby, public domain), over the UTF-8 bytes of a string.
 * A small pure implementation: no TextEncoder, no Buffer, no allocation. Strings are encoded to
 * UTF-8 on the fly (lone surrogates become U+FFFD, as TextEncoder does), and a hash can be resumed
 * from a precomputed prefix state, so that `salt + ":"` is hashed once per flag, not per call.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** The state after hashing a prefix: full blocks mixed into `h1`, 0-3 pending bytes in `tail`. */
export interface Murmur3State {
  readonly h1: number;
  readonly tail: number;
  readonly tailBytes: number;
  readonly length: number;
}

function mixBlock(h1: number, k1: number): number {
  k1 = Math.imul(k1, C1);
  k1 = (k1 << 15) | (k1 >>> 17);
  k1 = Math.imul(k1, C2);
  h1 ^= k1;
  h1 = (h1 << 13) | (h1 >>> 19);
  return (Math.imul(h1, 5) + 0xe6546b64) | 0;
}

function finish(h1: number, tail: number, tailBytes: number, length: number): number {
  if (tailBytes > 0) {
    let k1 = Math.imul(tail, C1);
    k1 = (k1 << 15) | (k1 >>> 17);
    h1 ^= Math.imul(k1, C2);
  }
  h1 ^= length;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1 >>> 0;
}

/**
 * Continues hashing from `state` with the UTF-8 bytes of `text` and returns the final 32-bit hash
 * (an unsigned integer). `murmur3Resume(murmur3Prefix(a, seed), b) === murmur3(a + b, seed)`.
 */
export function murmur3Resume(state: Murmur3State, text: string): number {
  if (text === cachedText) return resumeCached(state);
  let h1 = state.h1;
  let k = state.tail;
  let n = state.tailBytes;
  let length = state.length;
  const end = text.length;
  let i = 0;
  // Fast path: four ASCII characters at a time, merged with the 0-3 pending bytes.
  const shift = n << 3;
  while (i + 4 <= end) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) break;
    const word = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    if (shift === 0) {
      h1 = mixBlock(h1, word);
    } else {
      h1 = mixBlock(h1, k | (word << shift));
      k = word >>> (32 - shift);
    }
    i += 4;
    length += 4;
  }
  for (; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      k |= c << (n << 3);
      if (++n === 4) {
        h1 = mixBlock(h1, k);
        k = 0;
        n = 0;
      }
      length++;
      continue;
    }
    // Multi-byte: encode into up to 4 bytes, then feed them one by one.
    let bytes: number;
    let count: number;
    if (c < 0x800) {
      bytes = (0xc0 | (c >>> 6)) | ((0x80 | (c & 0x3f)) << 8);
      count = 2;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < end ? text.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else {
          c = 0xfffd;
        }
      }
      if (c < 0x10000) {
        bytes = (0xe0 | (c >>> 12)) | ((0x80 | ((c >>> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        count = 3;
      } else {
        bytes =
          (0xf0 | (c >>> 18)) |
          ((0x80 | ((c >>> 12) & 0x3f)) << 8) |
          ((0x80 | ((c >>> 6) & 0x3f)) << 16) |
          ((0x80 | (c & 0x3f)) << 24);
        count = 4;
      }
    }
    for (let j = 0; j < count; j++) {
      k |= ((bytes >>> (j << 3)) & 0xff) << (n << 3);
      if (++n === 4) {
        h1 = mixBlock(h1, k);
        k = 0;
        n = 0;
      }
    }
    length += count;
  }
  return finish(h1, k, n, length);
}

/*
 * A one-entry cache for hashing the same text after many different prefixes (bulk evaluation:
 * one targeting key, a thousand flag salts). The text is encoded once, and for each of the four
 * possible prefix alignments its bytes are packed once into the 32-bit words that follow the
 * prefix's pending bytes, so that each further hash is one mix per block and nothing else.
 * JavaScript runs this synchronously, so module state is safe; results never depend on it.
 */
const MAX_CACHED_BYTES = 1_024;
let cachedText: string | null = null;
let cachedLength = 0;
let cachedBytes = new Uint8Array(64);
let cachedWords: Int32Array[] = [new Int32Array(17), new Int32Array(17), new Int32Array(17), new Int32Array(17)];
let cachedAligned = 0;

/**
 * Makes {@link murmur3Resume} fast for `text` until another text is primed. Call before hashing one
 * value under many prefixes. Returns false (and does nothing) for texts over 1,024 UTF-8 bytes.
 */
export function primeMurmur3Text(text: string): boolean {
  if (text === cachedText) return true;
  const bytes = utf8Bytes(text);
  if (bytes.length > MAX_CACHED_BYTES) return false;
  if (bytes.length > cachedBytes.length) {
    cachedBytes = new Uint8Array(bytes.length * 2);
    const words = Math.ceil((bytes.length * 2 + 3) / 4) + 1;
    cachedWords = [new Int32Array(words), new Int32Array(words), new Int32Array(words), new Int32Array(words)];
  }
  cachedBytes.set(bytes);
  cachedLength = bytes.length;
  cachedAligned = 0;
  cachedText = text;
  return true;
}

/** Packs the cached bytes as they fall into blocks after `pending` prefix bytes. */
function alignCached(pending: number): Int32Array {
  const words = cachedWords[pending]!;
  const total = pending + cachedLength;
  const count = (total + 3) >>> 2;
  for (let w = 0; w < count; w++) {
    let word = 0;
    for (let b = 0; b < 4; b++) {
      const index = (w << 2) + b - pending;
      if (index >= 0 && index < cachedLength) word |= cachedBytes[index]! << (b << 3);
    }
    words[w] = word;
  }
  cachedAligned |= 1 << pending;
  return words;
}

function resumeCached(state: Murmur3State): number {
  const pending = state.tailBytes;
  const words = (cachedAligned & (1 << pending)) !== 0 ? cachedWords[pending]! : alignCached(pending);
  const total = pending + cachedLength;
  const full = total >>> 2;
  let h1 = state.h1;
  let tail = state.tail;
  for (let w = 0; w < full; w++) {
    h1 = mixBlock(h1, words[w]! | tail);
    tail = 0;
  }
  const rest = total & 3;
  return finish(h1, rest === 0 ? 0 : words[full]! | tail, rest, state.length + cachedLength);
}

/** The initial state for `seed` (an unsigned 32-bit integer). */
export function murmur3Seed(seed = 0): Murmur3State {
  return { h1: seed | 0, tail: 0, tailBytes: 0, length: 0 };
}

/** The state after hashing `prefix`, to resume later with {@link murmur3Resume}. */
export function murmur3Prefix(prefix: string, seed = 0): Murmur3State {
  // Hash the prefix through the same encoder, recording the state instead of finishing.
  let h1 = seed | 0;
  let k = 0;
  let n = 0;
  const bytes = utf8Bytes(prefix);
  for (const byte of bytes) {
    k |= byte << (n << 3);
    if (++n === 4) {
      h1 = mixBlock(h1, k);
      k = 0;
      n = 0;
    }
  }
  return { h1, tail: k, tailBytes: n, length: bytes.length };
}

/** MurmurHash3 x86_32 of the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function murmur3(text: string, seed = 0): number {
  return murmur3Resume(murmur3Seed(seed), text);
}

/** UTF-8 encoding (lone surrogates as U+FFFD), without TextEncoder so it runs anywhere. */
export function utf8Bytes(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >>> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >>> 12), 0x80 | ((c >>> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >>> 18), 0x80 | ((c >>> 12) & 0x3f), 0x80 | ((c >>> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return out;
}
