import { randomBytes } from 'node:crypto';
import { KEY_BYTES, NONCE_BYTES, gcmDecrypt, gcmEncrypt } from './aes-gcm';
import { CryptoUsageError, DecryptionError } from './crypto.errors';
import { payloadAad, wrapAad } from './envelope.aad';
import type { EnvelopeIdentity } from './envelope.aad';
import { MAX_KEK_VERSION, decodeEnvelope, encodeEnvelope, envelopeFromString } from './envelope.format';
import type { Envelope } from './envelope.format';
import type { KekProvider } from './kek.provider';

/** An encoded envelope: the binary form, or its base64url text form. */
export type SealedValue = Uint8Array | string;

/** Policy and hooks of an {@link EnvelopeCipher}. */
export interface EnvelopeCipherOptions {
  /**
   * Lowest KEK version still accepted for decryption and rewrap (default 1: none retired). Raise it
   * once every ciphertext has been rewrapped to a newer version; older ones are then refused with
   * `DecryptionError('kek-version-retired')` even while their KEK is still in the keyring.
   * The cipher is cheap: build a new one when the policy changes.
   */
  minDecryptVersion?: number;
  /**
   * Called (and awaited) once before every wrap with the KEK version about to be used, so the
   * caller can persist the use count per version. Throwing refuses the operation before the KEK
   * is used: the place to enforce `nonceBudget(...).mustRotate`.
   */
  onWrap?: (kekVersion: number) => void | Promise<void>;
}

/** Options of {@link EnvelopeCipher.rewrap}. */
export interface RewrapOptions {
  /** KEK version to wrap under; defaults to the provider's current version. */
  toVersion?: number;
}

/** Outcome of a rewrap, with the versions an audit record needs. */
export interface RewrapResult {
  /** The ciphertext to store (the input bytes when `changed` is false). */
  ciphertext: Buffer;
  fromVersion: number;
  toVersion: number;
  /** False when the ciphertext was already under `toVersion` and nothing was done. */
  changed: boolean;
}

/**
 * Envelope encryption of values bound to an identity. Each `encrypt` draws a fresh 256-bit data key
 * and a 96-bit nonce, seals the value with AES-256-GCM (AAD: the identity), and has the KEK provider
 * wrap the data key (AAD: the identity and the KEK version). The result is one self-describing
 * ciphertext (see `encodeEnvelope`). Data keys are wiped from memory after use.
 */
export class EnvelopeCipher {
  /** See {@link EnvelopeCipherOptions.minDecryptVersion}. */
  readonly minDecryptVersion: number;
  readonly #onWrap: (kekVersion: number) => void | Promise<void>;

  constructor(
    private readonly kek: KekProvider,
    options: EnvelopeCipherOptions = {},
  ) {
    const { minDecryptVersion = 1, onWrap = () => undefined } = options;
    if (!isVersion(minDecryptVersion)) {
      throw new CryptoUsageError(`minDecryptVersion must be an integer from 1 to ${MAX_KEK_VERSION}`);
    }
    this.minDecryptVersion = minDecryptVersion;
    this.#onWrap = onWrap;
  }

  /** Encrypts `plaintext` (a string is taken as UTF-8) under the provider's current KEK version. */
  async encrypt(plaintext: Uint8Array | string, identity: EnvelopeIdentity): Promise<Buffer> {
    const aad = payloadAad(identity);
    const kekVersion = this.kek.currentVersion();
    this.assertWrappable(kekVersion);
    const bytes = plaintextBytes(plaintext);
    const dataKey = randomBytes(KEY_BYTES);
    try {
      const nonce = randomBytes(NONCE_BYTES);
      const { ciphertext, tag } = gcmEncrypt(dataKey, nonce, bytes, aad);
      const wrappedKey = await this.wrap(kekVersion, dataKey, identity);
      return encodeEnvelope({ kekVersion, wrappedKey, nonce, ciphertext, tag });
    } finally {
      dataKey.fill(0);
      if (typeof plaintext === 'string') bytes.fill(0);
    }
  }

  /**
   * Decrypts a ciphertext made for exactly this `identity`. Refusals are `DecryptionError`s; errors
   * of the KEK provider that are not (e.g. a KMS outage) pass through unchanged. The caller owns the
   * returned buffer: wipe it (`fill(0)`) once the value has been used.
   */
  async decrypt(sealed: SealedValue, identity: EnvelopeIdentity): Promise<Buffer> {
    const envelope = toEnvelope(sealed);
    const aad = payloadAad(identity);
    const dataKey = await this.openDataKey(envelope, identity);
    try {
      return gcmDecrypt(dataKey, envelope.nonce, envelope.ciphertext, envelope.tag, aad);
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Re-wraps the data key under the current (or the given) KEK version, leaving nonce, ciphertext
   * and tag byte-for-byte unchanged. The payload is authenticated first, so a corrupt ciphertext is
   * refused rather than given a fresh wrap, but its plaintext never leaves this method. A ciphertext
   * already under the target version is returned as is (no KEK use), which makes a rewrap job
   * idempotent. Refused like `decrypt` (a retired source version included).
   */
  async rewrap(sealed: SealedValue, identity: EnvelopeIdentity, options: RewrapOptions = {}): Promise<RewrapResult> {
    const envelope = toEnvelope(sealed);
    const aad = payloadAad(identity);
    const toVersion = options.toVersion ?? this.kek.currentVersion();
    this.assertWrappable(toVersion);
    const fromVersion = envelope.kekVersion;
    if (fromVersion === toVersion) {
      return { ciphertext: encodeEnvelope(envelope), fromVersion, toVersion, changed: false };
    }
    const dataKey = await this.openDataKey(envelope, identity);
    try {
      gcmDecrypt(dataKey, envelope.nonce, envelope.ciphertext, envelope.tag, aad).fill(0);
      const wrappedKey = await this.wrap(toVersion, dataKey, identity);
      return { ciphertext: encodeEnvelope({ ...envelope, kekVersion: toVersion, wrappedKey }), fromVersion, toVersion, changed: true };
    } finally {
      dataKey.fill(0);
    }
  }

  /** Whether `sealed` is under another KEK version than the provider's current one. */
  needsRewrap(sealed: SealedValue): boolean {
    return needsRewrap(sealed, this.kek.currentVersion());
  }

  private assertWrappable(kekVersion: number): void {
    if (!this.kek.versions().includes(kekVersion)) {
      throw new CryptoUsageError(`KEK version ${kekVersion} is not held by the ${this.kek.name} provider`);
    }
    if (kekVersion < this.minDecryptVersion) {
      throw new CryptoUsageError(
        `KEK version ${kekVersion} is below the minimum decryption version ${this.minDecryptVersion}: its ciphertexts would be unreadable`,
      );
    }
  }

  private async wrap(kekVersion: number, dataKey: Buffer, identity: EnvelopeIdentity): Promise<Buffer> {
    await this.#onWrap(kekVersion);
    return this.kek.wrap(kekVersion, dataKey, wrapAad(identity, kekVersion));
  }

  private async openDataKey(envelope: Envelope, identity: EnvelopeIdentity): Promise<Buffer> {
    const { kekVersion, wrappedKey } = envelope;
    if (kekVersion < this.minDecryptVersion) throw new DecryptionError('kek-version-retired');
    if (!this.kek.versions().includes(kekVersion)) throw new DecryptionError('unknown-kek-version');
    const dataKey = await this.kek.unwrap(kekVersion, wrappedKey, wrapAad(identity, kekVersion));
    if (dataKey.length !== KEY_BYTES) {
      dataKey.fill(0);
      throw new DecryptionError('authentication-failed');
    }
    return dataKey;
  }
}

/**
 * Whether a ciphertext's data key is wrapped under another KEK version than `currentVersion`, i.e.
 * whether a rewrap job should visit it. Reads only the header; `DecryptionError` if malformed.
 */
export function needsRewrap(sealed: SealedValue, currentVersion: number): boolean {
  return kekVersionOf(sealed) !== currentVersion;
}

/** The KEK version in a ciphertext's header (e.g. for an indexed `kek_version` column). */
export function kekVersionOf(sealed: SealedValue): number {
  return toEnvelope(sealed).kekVersion;
}

function toEnvelope(sealed: SealedValue): Envelope {
  return decodeEnvelope(typeof sealed === 'string' ? envelopeFromString(sealed) : sealed);
}

function plaintextBytes(plaintext: unknown): Buffer {
  if (typeof plaintext === 'string') return Buffer.from(plaintext, 'utf8');
  if (plaintext instanceof Uint8Array) return Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  throw new CryptoUsageError('plaintext must be a string or bytes');
}

function isVersion(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= MAX_KEK_VERSION;
}
