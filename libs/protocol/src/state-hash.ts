import canonicalize from 'canonicalize';
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import type { SegmentSnapshotV1 } from './change-event';
import type { ConfigItemSnapshotV1 } from './config';
import type { FlagSnapshotV1 } from './flags';

/**
 * The state hash of an environment (docs/protocol.md#state-hash), pure JavaScript so SDKs in
 * browsers compute it identically:
 *
 *   itemHash(x)  = hex(SHA-256(UTF-8(RFC 8785 canonical JSON of x)))
 *   stateHash    = hex(SHA-256(UTF-8(lines)))   where lines is, in key order,
 *                  "f " + flag.key + " " + itemHash(flag) + "\n" for every flag, then
 *                  "s " + segment.key + " " + itemHash(segment) + "\n" for every segment, then
 *                  "c " + config.key + " " + itemHash(config) + "\n" for every config item.
 *
 * Item hashes are kept per item, so a patch re-hashes only what it changed.
 *
 * Speed matters here: an SDK hashes every item of a snapshot before it serves it (offline start
 * from a cache is on the clock). Two things make it fast without changing a single output bit:
 * - `canonicalJson` writes with the native `JSON.stringify` every part of a value whose objects
 *   already have their keys in canonical order (all of it, for the gateway's canonical frames and
 *   the SDK's cache files), and sorts the rest itself;
 * - SHA-256 runs natively when the runtime offers Node's crypto module through
 *   `process.getBuiltinModule` (Node 20.16+), and in pure JavaScript (@noble/hashes) everywhere
 *   else (browsers, older Node). Nothing is imported from Node: the code stays portable.
 */
export function itemHash(item: FlagSnapshotV1 | SegmentSnapshotV1 | ConfigItemSnapshotV1): string {
  return sha256Hex(canonicalJson(item) ?? 'null');
}

/** The state hash of the empty state: SHA-256 of the empty string. */
export const EMPTY_STATE_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function combineStateHash(
  flagHashes: ReadonlyMap<string, string>,
  segmentHashes: ReadonlyMap<string, string>,
  configHashes: ReadonlyMap<string, string> = new Map(),
): string {
  let lines = '';
  for (const key of [...flagHashes.keys()].sort()) lines += `f ${key} ${flagHashes.get(key)}\n`;
  for (const key of [...segmentHashes.keys()].sort()) lines += `s ${key} ${segmentHashes.get(key)}\n`;
  for (const key of [...configHashes.keys()].sort()) lines += `c ${key} ${configHashes.get(key)}\n`;
  return sha256Hex(lines);
}

/** The state hash of a whole state (what a snapshot carries). */
export function stateHash(flags: readonly FlagSnapshotV1[], segments: readonly SegmentSnapshotV1[], configs: readonly ConfigItemSnapshotV1[] = []): string {
  return combineStateHash(
    new Map(flags.map((f) => [f.key, itemHash(f)])),
    new Map(segments.map((s) => [s.key, itemHash(s)])),
    new Map(configs.map((c) => [c.key, itemHash(c)])),
  );
}

/**
 * RFC 8785 canonical JSON of `value`, exactly as the `canonicalize` package writes it (including
 * its handling of values JSON cannot hold); `undefined` for what has no JSON text.
 *
 * Every part of the value that is plain JSON data with its object keys already in canonical order
 * is written by the native `JSON.stringify` (the same text, far faster); objects out of order are
 * written here key by key, and anything else (`toJSON`, boxed primitives, maps, sparse arrays,
 * functions, non-finite numbers…) by the reference implementation.
 */
export function canonicalJson(value: unknown): string | undefined {
  if (isOrderedJson(value, 0)) return JSON.stringify(value);
  if (value === null || typeof value !== 'object' || typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalize(value);
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    for (let i = 0; i < items.length; i++) if (!(i in items)) return canonicalize(value);
    // As the reference: `undefined` and symbols become null; what has no text reads "undefined".
    return `[${items.map((item) => (item === undefined || typeof item === 'symbol' ? 'null' : String(canonicalJson(item)))).join(',')}]`;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return canonicalize(value);
  const record = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined || typeof member === 'symbol') continue;
    members.push(`${JSON.stringify(key)}:${String(canonicalJson(member))}`);
  }
  return `{${members.join(',')}}`;
}

/** Beyond this depth the check gives up (the value is then written part by part). */
const MAX_CHECK_DEPTH = 64;

/**
 * True when `value` is plain JSON data (null, booleans, strings, finite numbers, dense arrays,
 * plain objects, nothing with `toJSON`) and every object lists its keys in ascending UTF-16 order,
 * which is RFC 8785's order. Object.keys order is JSON.stringify's order, so the two texts then
 * agree.
 */
function isOrderedJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_CHECK_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
      if (Array.isArray(value)) {
        const items: unknown[] = value;
        for (let i = 0; i < items.length; i++) if (!(i in items) || !isOrderedJson(items[i], depth + 1)) return false;
        return true;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (i > 0 && !(keys[i - 1]! < key)) return false;
        if (!isOrderedJson(record[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Lowercase hex SHA-256 of the UTF-8 encoding of `text`. */
export function sha256Hex(text: string): string {
  return nativeSha256Hex !== null ? nativeSha256Hex(text) : bytesToHex(sha256(utf8ToBytes(text)));
}

/** Which SHA-256 implementation `sha256Hex` uses in this runtime (diagnostics and tests). */
export function sha256Implementation(): 'native' | 'portable' {
  return nativeSha256Hex !== null ? 'native' : 'portable';
}

interface NodeCryptoLike {
  hash?: (algorithm: string, data: string, outputEncoding: 'hex') => string;
  createHash?: (algorithm: string) => { update(data: string, encoding: 'utf8'): { digest(encoding: 'hex'): string } };
}

const nativeSha256Hex = detectNativeSha256();

/** Node's SHA-256 when the runtime hands out its built-in modules, else null. Never throws. */
function detectNativeSha256(): ((text: string) => string) | null {
  try {
    const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    if (typeof runtime?.getBuiltinModule !== 'function') return null;
    const crypto = runtime.getBuiltinModule('node:crypto') as NodeCryptoLike | undefined;
    const hash = crypto?.hash;
    if (typeof hash === 'function') return (text) => hash('sha256', text, 'hex');
    const createHash = crypto?.createHash;
    if (typeof createHash === 'function') return (text) => createHash('sha256').update(text, 'utf8').digest('hex');
  } catch {
    // no native crypto: the portable implementation serves
  }
  return null;
}
