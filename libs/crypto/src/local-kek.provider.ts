import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { KEY_BYTES, NONCE_BYTES, TAG_BYTES, gcmDecrypt, gcmEncrypt } from './aes-gcm';
import { CryptoUsageError, DecryptionError } from './crypto.errors';
import type { KekProvider } from './kek.provider';
import { checkKeyring, parseKeyringEnv, parseKeyringFile } from './keyring.parser';
import type { KeyringOptions } from './keyring.parser';

const WRAPPED_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/**
 * KEKs held in process memory, loaded from a master keyring outside the database (an environment
 * variable or a key file). A data key is wrapped as `nonce (12) | AES-256-GCM(KEK, data key) (32) |
 * tag (16)`, 60 bytes, with the caller's AAD.
 *
 * The keys live in private fields; `JSON.stringify` and `util.inspect` show only the name, the
 * current version and the versions, so logging the provider (or an object holding it) leaks nothing.
 */
export class LocalKekProvider implements KekProvider {
  readonly name = 'local';
  readonly #keys: ReadonlyMap<number, Buffer>;
  readonly #current: number;
  readonly #versions: readonly number[];

  /** Copies the keys, so the caller may wipe its own buffers afterwards. */
  constructor(keys: ReadonlyMap<number, Uint8Array>, current?: number) {
    this.#current = checkKeyring(keys, current);
    this.#keys = new Map([...keys].map(([version, key]) => [version, Buffer.from(key)]));
    this.#versions = Object.freeze([...keys.keys()].sort((a, b) => a - b));
  }

  /** From an environment variable value such as `1:<base64>,2:<base64>`. */
  static fromEnvValue(value: string, options: KeyringOptions = {}): LocalKekProvider {
    const { keys, current } = parseKeyringEnv(value, options);
    return LocalKekProvider.adopt(keys, current);
  }

  /** From the text of a key file: `{ "current": 2, "keys": { "1": "<base64>", "2": "<base64>" } }`. */
  static fromKeyFileText(text: string): LocalKekProvider {
    const { keys, current } = parseKeyringFile(text);
    return LocalKekProvider.adopt(keys, current);
  }

  /** Reads and parses a key file (see {@link LocalKekProvider.fromKeyFileText}). */
  static async fromKeyFile(path: string): Promise<LocalKekProvider> {
    return LocalKekProvider.fromKeyFileText(await readFile(path, 'utf8'));
  }

  /** Builds from freshly parsed keys, then wipes the parser's copies. */
  private static adopt(keys: Map<number, Buffer>, current: number): LocalKekProvider {
    const provider = new LocalKekProvider(keys, current);
    for (const key of keys.values()) key.fill(0);
    return provider;
  }

  /** The version new wraps use: the highest, unless the keyring named another. */
  currentVersion(): number {
    return this.#current;
  }

  /** Every version in the keyring, ascending. */
  versions(): readonly number[] {
    return this.#versions;
  }

  /** AES-256-GCM under the KEK of `kekVersion` with a fresh random nonce; see `nonceBudget` for why uses are counted. */
  async wrap(kekVersion: number, dataKey: Buffer, aad: Buffer): Promise<Buffer> {
    const kek = this.#keys.get(kekVersion);
    if (!kek) throw new CryptoUsageError(`KEK version ${kekVersion} is not in the keyring`);
    if (dataKey.length !== KEY_BYTES) throw new CryptoUsageError(`a data key must be ${KEY_BYTES} bytes`);
    const nonce = randomBytes(NONCE_BYTES);
    const { ciphertext, tag } = gcmEncrypt(kek, nonce, dataKey, aad);
    return Buffer.concat([nonce, ciphertext, tag]);
  }

  /** Opens a 60-byte wrap; refusals are `DecryptionError`s as the {@link KekProvider} contract requires. */
  async unwrap(kekVersion: number, wrapped: Buffer, aad: Buffer): Promise<Buffer> {
    const kek = this.#keys.get(kekVersion);
    if (!kek) throw new DecryptionError('unknown-kek-version');
    if (wrapped.length !== WRAPPED_BYTES) throw new DecryptionError('authentication-failed');
    return gcmDecrypt(
      kek,
      wrapped.subarray(0, NONCE_BYTES),
      wrapped.subarray(NONCE_BYTES, NONCE_BYTES + KEY_BYTES),
      wrapped.subarray(NONCE_BYTES + KEY_BYTES),
      aad,
    );
  }

  /** What `JSON.stringify` sees: no key material. */
  toJSON(): { name: string; current: number; versions: readonly number[] } {
    return { name: this.name, current: this.#current, versions: this.#versions };
  }

  /** What `console.log` and `util.inspect` see: no key material. */
  [inspect.custom](): string {
    return `LocalKekProvider { name: 'local', current: ${this.#current}, versions: [${this.#versions.join(', ')}] }`;
  }
}
