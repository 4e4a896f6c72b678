/**
 * Where key-encryption keys (KEKs) live. The envelope cipher never sees a KEK: it hands the provider
 * a fresh data key to wrap and gets back opaque bytes, so a provider can keep its keys in process
 * memory ({@link LocalKekProvider}), a cloud KMS or an HSM.
 *
 * Versions are positive integers (1 to 2^32 - 1) chosen by the operator; they are written into every
 * ciphertext, so a version number must never be reused for a different key. For a KMS, map each
 * version to a key (ARN, key name, key version) in the provider's configuration.
 *
 * Contract for implementers:
 * - `wrap` authenticates `aad` with the wrapped key (AES-GCM AAD, KMS "encryption context" or
 *   "additional authenticated data"). It must use the key of exactly `kekVersion`, not "the latest".
 * - `unwrap` returns the 32-byte data key only if `wrapped` was produced by `wrap` with the same
 *   `kekVersion` and `aad`. It throws `DecryptionError('unknown-kek-version')` for a version it does
 *   not hold and `DecryptionError('authentication-failed')` when the key service rejects the input
 *   (wrong key, altered bytes, other AAD). Anything else it throws (a network error, throttling)
 *   passes through the cipher unchanged, so callers can tell "retry later" from "refused".
 * - Never log, return or put into an error the KEK, the data key or the AAD.
 */
export interface KekProvider {
  /** Short, stable name for logs and audit records (`'local'`, `'aws-kms'`). */
  readonly name: string;
  /** The version new wraps use. Raising it is a rotation. */
  currentVersion(): number;
  /** Every version this provider can unwrap, ascending. */
  versions(): readonly number[];
  /** Encrypts a data key under the KEK `kekVersion`, binding `aad`. */
  wrap(kekVersion: number, dataKey: Buffer, aad: Buffer): Promise<Buffer>;
  /** Inverse of `wrap`; see the interface notes for the errors it must throw. */
  unwrap(kekVersion: number, wrapped: Buffer, aad: Buffer): Promise<Buffer>;
}
