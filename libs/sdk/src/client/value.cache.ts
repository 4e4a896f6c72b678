import type { EvaluatedFlagV1 } from '@flagstream/protocol';

/**
 * The part of the Web Storage API the browser client uses to cache values: `localStorage`,
 * `sessionStorage`, or any stand-in (an in-memory map in tests and Node).
 */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Values of one context as cached: what the stream last said, at which revision, and when. */
export interface CachedValues {
  revision: number;
  flags: Record<string, EvaluatedFlagV1>;
  /** When they were saved (milliseconds since the epoch). */
  savedAt: number;
}

/** An entry larger than this (UTF-16 code units, about 1 MB) is not cached. */
export const MAX_CACHE_ENTRY_CHARS = 1_000_000;
/** Values are cached for this many contexts per key and gateway; the least recently saved go first. */
export const MAX_CACHED_CONTEXTS = 5;

const PREFIX = 'flagstream:v1:';

interface StoredEntry {
  v: 1;
  fingerprint: string;
  revision: number;
  savedAt: number;
  flags: Record<string, EvaluatedFlagV1>;
}

/**
 * The last values of each recent context, in Web Storage, so a page starts with them before the
 * network answers. Entries are named by hashes of (the key's public prefix, the gateway, the
 * canonical context): neither the SDK key nor the context itself is stored, only the values,
 * the revision, a fingerprint of the context and the time. Corrupt or foreign entries are
 * ignored; storage failures (quota, storage disabled) are reported through `onError`, never thrown.
 */
export class ValueCache {
  private readonly namespace: string;

  /**
   * @param storage - where entries live.
   * @param scope - the SDK key and gateway the values come from.
   * @param onError - told about storage failures (the caller reports them as non-fatal errors).
   */
  constructor(
    private readonly storage: StorageLike,
    scope: { sdkKey: string; baseUrl: string },
    private readonly onError: (error: Error) => void,
  ) {
    // `fs_client_` plus 6 characters: the part of a key the admin API shows, not the secret.
    this.namespace = hash(`${scope.sdkKey.slice(0, 16)}\n${scope.baseUrl.replace(/\/+$/, '')}`, 1);
  }

  /** The cached values of `context`, or null when there are none (or they are unusable). */
  load(context: Record<string, unknown>): CachedValues | null {
    const id = this.idOf(context);
    let text: string | null;
    try {
      text = this.storage.getItem(id.key);
    } catch (e) {
      this.onError(describe('could not read the flag cache', e));
      return null;
    }
    if (text === null) return null;
    const entry = text.length <= MAX_CACHE_ENTRY_CHARS ? parseEntry(text) : null;
    if (!entry || entry.fingerprint !== id.fingerprint) {
      this.remove(id.key);
      return null;
    }
    return { revision: entry.revision, flags: entry.flags, savedAt: entry.savedAt };
  }

  /** Saves the values of `context`, replacing what was cached for it. */
  save(context: Record<string, unknown>, values: { revision: number; flags: Record<string, EvaluatedFlagV1> }): void {
    const id = this.idOf(context);
    const entry: StoredEntry = { v: 1, fingerprint: id.fingerprint, revision: values.revision, savedAt: Date.now(), flags: values.flags };
    const text = JSON.stringify(entry);
    if (text.length > MAX_CACHE_ENTRY_CHARS) {
      this.remove(id.key);
      this.onError(new Error(`not caching flag values: ${text.length} characters is over the ${MAX_CACHE_ENTRY_CHARS} limit`));
      return;
    }
    try {
      this.storage.setItem(id.key, text);
      this.remember(id.hash);
    } catch (e) {
      this.onError(describe('could not write the flag cache', e));
    }
  }

  private idOf(context: Record<string, unknown>): { key: string; hash: string; fingerprint: string } {
    const canonical = canonicalJson(context);
    const contextHash = hash(canonical, 2);
    // A second, independent hash guards against a collision of the (short) storage key.
    return { key: `${PREFIX}${this.namespace}:${contextHash}`, hash: contextHash, fingerprint: `${this.namespace}:${hash(canonical, 3)}` };
  }

  /** Keeps the list of cached contexts, most recent first, and drops the oldest beyond the limit. */
  private remember(contextHash: string): void {
    const indexKey = `${PREFIX}${this.namespace}:contexts`;
    let list: string[] = [];
    try {
      const parsed: unknown = JSON.parse(this.storage.getItem(indexKey) ?? '[]');
      if (Array.isArray(parsed)) list = parsed.filter((x): x is string => typeof x === 'string');
    } catch {
      // a corrupt index is rebuilt
    }
    list = [contextHash, ...list.filter((h) => h !== contextHash)];
    for (const old of list.splice(MAX_CACHED_CONTEXTS)) this.remove(`${PREFIX}${this.namespace}:${old}`);
    this.storage.setItem(indexKey, JSON.stringify(list));
  }

  private remove(key: string): void {
    try {
      this.storage.removeItem(key);
    } catch {
      // nothing more to do
    }
  }
}

function parseEntry(text: string): StoredEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(value) || value.v !== 1 || typeof value.fingerprint !== 'string' || typeof value.savedAt !== 'number') return null;
  if (typeof value.revision !== 'number' || !Number.isSafeInteger(value.revision) || value.revision < 0) return null;
  if (!isRecord(value.flags)) return null;
  for (const f of Object.values(value.flags)) if (!isRecord(f) || typeof f.reason !== 'string' || !('value' in f)) return null;
  return value as unknown as StoredEntry;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(what: string, e: unknown): Error {
  return new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * JSON with object keys sorted at every level (undefined members dropped, `toJSON` honoured), so
 * the same context gives the same text whatever order its attributes were set in.
 */
export function canonicalJson(value: unknown): string {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return canonicalJson((value as { toJSON(): unknown }).toJSON());
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (isRecord(value)) {
    const members = Object.keys(value)
      .filter((k) => value[k] !== undefined && typeof value[k] !== 'function')
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A fast 64-bit string hash (two 32-bit multiply-xor lanes, seeded): enough to name storage
 * entries and tell contexts apart, not a cryptographic digest.
 */
function hash(text: string, seed: number): string {
  let a = 0x811c9dc5 ^ seed;
  let b = Math.imul(0x9e3779b1, seed + 1);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x27d4eb2f) ^ (a >>> 7);
  return (a >>> 0).toString(36).padStart(7, '0') + (b >>> 0).toString(36).padStart(7, '0');
}
