import { NONCE_BYTES, TAG_BYTES } from './aes-gcm';
import { CryptoUsageError, DecryptionError } from './crypto.errors';

/** ASCII `FSE` (Flagstream Envelope): lets a reader tell a ciphertext from any other bytes. */
export const ENVELOPE_MAGIC = Buffer.from('FSE', 'ascii');
/** The only format version this code writes and reads. */
export const ENVELOPE_FORMAT_VERSION = 1;
/** Largest KEK version the 4-byte field holds. */
export const MAX_KEK_VERSION = 0xffff_ffff;

const HEADER_BYTES = ENVELOPE_MAGIC.length + 1 + 4 + 2 + 4;
const MAX_WRAPPED_KEY_BYTES = 0xffff;
const MAX_CIPHERTEXT_BYTES = 0xffff_ffff;

/**
 * A decoded ciphertext. Self-describing: it names the KEK version that wrapped its data key, so a
 * reader needs nothing but the identity and a keyring. The wrapped key is opaque (its length
 * depends on the KEK provider: 60 bytes for the local provider, more for a cloud KMS).
 */
export interface Envelope {
  kekVersion: number;
  wrappedKey: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * Binary form, format version 1 (all integers big-endian):
 * `magic "FSE" (3) | format 0x01 (1) | KEK version (4) | wrapped key length N (2) |
 *  ciphertext length L (4) | wrapped key (N) | nonce (12) | ciphertext (L) | tag (16)`,
 * 42 + N + L bytes in all. Both lengths are explicit, so a truncated or extended value is
 * malformed on its face rather than discovered by authentication.
 */
export function encodeEnvelope(envelope: Envelope): Buffer {
  const { kekVersion, wrappedKey, nonce, ciphertext, tag } = envelope;
  if (!Number.isInteger(kekVersion) || kekVersion < 1 || kekVersion > MAX_KEK_VERSION) {
    throw new CryptoUsageError(`KEK version must be an integer from 1 to ${MAX_KEK_VERSION}`);
  }
  if (wrappedKey.length < 1 || wrappedKey.length > MAX_WRAPPED_KEY_BYTES) {
    throw new CryptoUsageError(`wrapped key must be 1 to ${MAX_WRAPPED_KEY_BYTES} bytes`);
  }
  if (ciphertext.length > MAX_CIPHERTEXT_BYTES) throw new CryptoUsageError(`ciphertext must be at most ${MAX_CIPHERTEXT_BYTES} bytes`);
  if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) {
    throw new CryptoUsageError(`nonce must be ${NONCE_BYTES} bytes and tag ${TAG_BYTES} bytes`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  ENVELOPE_MAGIC.copy(header, 0);
  header.writeUInt8(ENVELOPE_FORMAT_VERSION, 3);
  header.writeUInt32BE(kekVersion, 4);
  header.writeUInt16BE(wrappedKey.length, 8);
  header.writeUInt32BE(ciphertext.length, 10);
  return Buffer.concat([header, wrappedKey, nonce, ciphertext, tag]);
}

/**
 * Parses the binary form. Anything that is not a well-formed version-1 envelope is
 * `DecryptionError('malformed')` (or `'unsupported-format'` for a known magic with another format
 * version); it never throws a RangeError. The parts are copies, not views of the input.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  if (!(bytes instanceof Uint8Array)) throw new DecryptionError('malformed');
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length < ENVELOPE_MAGIC.length + 1 || !data.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC)) {
    throw new DecryptionError('malformed');
  }
  if (data[3] !== ENVELOPE_FORMAT_VERSION) throw new DecryptionError('unsupported-format');
  if (data.length < HEADER_BYTES) throw new DecryptionError('malformed');
  const kekVersion = data.readUInt32BE(4);
  const wrappedLength = data.readUInt16BE(8);
  const ciphertextLength = data.readUInt32BE(10);
  const ciphertextStart = HEADER_BYTES + wrappedLength + NONCE_BYTES;
  const tagStart = ciphertextStart + ciphertextLength;
  if (kekVersion === 0 || wrappedLength === 0 || data.length !== tagStart + TAG_BYTES) {
    throw new DecryptionError('malformed');
  }
  return {
    kekVersion,
    wrappedKey: Buffer.from(data.subarray(HEADER_BYTES, HEADER_BYTES + wrappedLength)),
    nonce: Buffer.from(data.subarray(HEADER_BYTES + wrappedLength, ciphertextStart)),
    ciphertext: Buffer.from(data.subarray(ciphertextStart, tagStart)),
    tag: Buffer.from(data.subarray(tagStart)),
  };
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Text form of an encoded envelope (unpadded base64url), for JSON, exports and environment variables. */
export function envelopeToString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * Strict inverse of {@link envelopeToString}: any character outside the base64url alphabet, padding,
 * or a non-canonical encoding is `DecryptionError('malformed')` (Node's decoder would silently skip
 * such characters). Returns the binary form; it does not validate the envelope inside.
 */
export function envelopeFromString(text: string): Buffer {
  if (typeof text !== 'string' || !BASE64URL.test(text)) throw new DecryptionError('malformed');
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw new DecryptionError('malformed');
  return bytes;
}
