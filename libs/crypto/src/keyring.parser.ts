import { randomBytes } from 'node:crypto';
import { KEY_BYTES } from './aes-gcm';
import { KeyringError } from './crypto.errors';
import { MAX_KEK_VERSION } from './envelope.format';

/** A parsed master keyring: KEK bytes by version, and the version new wraps use. */
export interface Keyring {
  current: number;
  keys: Map<number, Buffer>;
}

/** Options shared by the keyring loaders. */
export interface KeyringOptions {
  /** Version new wraps use; defaults to the highest version in the keyring. */
  current?: number;
}

const VERSION_TEXT = /^[1-9][0-9]*$/;
const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Parses the environment form `1:<base64 key>,2:<base64 key>` (standard or url-safe base64 of 32
 * bytes; blanks around entries ignored). Errors name the entry's position, never its text.
 */
export function parseKeyringEnv(value: string, options: KeyringOptions = {}): Keyring {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) {
    throw new KeyringError('empty', 'keyring is empty: expected entries like 1:<base64 of 32 bytes>,2:<base64 of 32 bytes>');
  }
  const keys = new Map<number, Buffer>();
  entries.forEach((entry, index) => {
    const where = `keyring entry ${index + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new KeyringError('malformed', `${where} is not <version>:<base64 key>`);
    const version = parseVersion(entry.slice(0, colon).trim(), where);
    if (keys.has(version)) throw new KeyringError('duplicate-version', `keyring has version ${version} more than once`);
    keys.set(version, decodeKey(entry.slice(colon + 1).trim(), version));
  });
  return { current: pickCurrent(keys, options.current), keys };
}

/**
 * Parses a key file: `{ "current": 2, "keys": { "1": "<base64>", "2": "<base64>" } }` (`current`
 * optional, defaulting to the highest version). Unknown top-level fields are refused so that a typo
 * such as `"curent"` cannot silently select another key. JSON's own duplicate names cannot be seen
 * after parsing (the last one wins), so keep one line per version.
 */
export function parseKeyringFile(text: string): Keyring {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the input around the error, which may be key material.
    throw new KeyringError('malformed', 'key file is not valid JSON');
  }
  if (!isRecord(parsed) || !isRecord(parsed.keys)) {
    throw new KeyringError('malformed', 'key file must be an object with a "keys" object: { "current": 2, "keys": { "1": "<base64>" } }');
  }
  if (Object.keys(parsed).some((field) => field !== 'keys' && field !== 'current')) {
    throw new KeyringError('malformed', 'key file has an unknown top-level field (allowed: "current", "keys")');
  }
  const names = Object.keys(parsed.keys);
  if (names.length === 0) throw new KeyringError('empty', 'key file "keys" is empty');
  const keys = new Map<number, Buffer>();
  names.forEach((name, index) => {
    const version = parseVersion(name, `key file "keys" entry ${index + 1}`);
    const key = (parsed.keys as Record<string, unknown>)[name];
    if (typeof key !== 'string') throw new KeyringError('bad-key', `key file version ${version}: the key must be a base64 string`);
    keys.set(version, decodeKey(key, version));
  });
  const current = parsed.current;
  if (current !== undefined && typeof current !== 'number') {
    throw new KeyringError('bad-version', 'key file "current" must be a version number');
  }
  return { current: pickCurrent(keys, current), keys };
}

/**
 * Checks a keyring built in code (or by the parsers): versions in range, 32-byte keys, a current
 * version that has a key. Returns the current version.
 */
export function checkKeyring(keys: ReadonlyMap<number, Uint8Array>, current?: number): number {
  if (keys.size === 0) throw new KeyringError('empty', 'keyring is empty');
  for (const [version, key] of keys) {
    if (!isVersion(version)) throw new KeyringError('bad-version', `keyring versions must be integers from 1 to ${MAX_KEK_VERSION}`);
    checkKeyBytes(key, version);
  }
  return pickCurrent(keys, current);
}

/**
 * A fresh random keyring in the environment form (`1:<base64>,...`), for the demo and local
 * development only. Production KEKs are made and kept by the operator (or a KMS), never generated
 * by the process that uses them.
 */
export function generateKeyring(versions = 1): string {
  if (!Number.isInteger(versions) || versions < 1 || versions > 16) {
    throw new KeyringError('bad-version', 'generateKeyring makes 1 to 16 versions');
  }
  return Array.from({ length: versions }, (_, i) => `${i + 1}:${randomBytes(KEY_BYTES).toString('base64')}`).join(',');
}

function parseVersion(text: string, where: string): number {
  const version = VERSION_TEXT.test(text) ? Number(text) : NaN;
  if (!isVersion(version)) {
    throw new KeyringError('bad-version', `${where}: the version must be an integer from 1 to ${MAX_KEK_VERSION}`);
  }
  return version;
}

function decodeKey(text: string, version: number): Buffer {
  if (!BASE64_TEXT.test(text)) throw new KeyringError('bad-key', `keyring version ${version}: the key is not base64`);
  const key = Buffer.from(text, 'base64');
  checkKeyBytes(key, version);
  return key;
}

function checkKeyBytes(key: Uint8Array, version: number): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : 'no bytes';
    throw new KeyringError('bad-key', `keyring version ${version}: a KEK must be exactly ${KEY_BYTES} bytes, got ${got}`);
  }
  if (key.every((byte) => byte === 0)) {
    throw new KeyringError('bad-key', `keyring version ${version}: the key is all zeros (a placeholder, not a key)`);
  }
}

function pickCurrent(keys: ReadonlyMap<number, unknown>, current: number | undefined): number {
  const versions = [...keys.keys()].sort((a, b) => a - b);
  if (current === undefined) return versions[versions.length - 1];
  if (!isVersion(current)) throw new KeyringError('bad-version', `current version must be an integer from 1 to ${MAX_KEK_VERSION}`);
  if (!keys.has(current)) {
    throw new KeyringError('missing-current', `current version ${current} has no key in the keyring (versions: ${versions.join(', ')})`);
  }
  return current;
}

function isVersion(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= MAX_KEK_VERSION;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
