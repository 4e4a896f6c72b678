import { createCipheriv, createDecipheriv } from 'node:crypto';
import { CryptoUsageError, DecryptionError } from './crypto.errors';

/** AES-256 key length in bytes. */
export const KEY_BYTES = 32;
/** The 96-bit nonce length SP 800-38D recommends for random nonces. */
export const NONCE_BYTES = 12;
/** Full-length tag; shorter tags are never accepted. */
export const TAG_BYTES = 16;

/** Output of one AES-256-GCM encryption. */
export interface GcmSealed {
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * AES-256-GCM encryption, the one primitive both layers (payload and key wrap) use. Takes any
 * nonce length so the known-answer tests can run the specification's 64-bit and 480-bit IV cases;
 * the envelope itself always passes {@link NONCE_BYTES}.
 */
export function gcmEncrypt(key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): GcmSealed {
  checkKeyAndNonce(key, nonce);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * AES-256-GCM decryption. Any failure to authenticate (including a tag of the wrong length,
 * which Node would otherwise accept when truncated) is `DecryptionError('authentication-failed')`.
 */
export function gcmDecrypt(key: Buffer, nonce: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer {
  checkKeyAndNonce(key, nonce);
  if (tag.length !== TAG_BYTES) throw new DecryptionError('authentication-failed');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(ciphertext);
  try {
    return Buffer.concat([plaintext, decipher.final()]);
  } catch {
    // GCM releases plaintext before the tag is checked; wipe what was produced for a forged input.
    plaintext.fill(0);
    throw new DecryptionError('authentication-failed');
  }
}

function checkKeyAndNonce(key: Buffer, nonce: Buffer): void {
  if (key.length !== KEY_BYTES) throw new CryptoUsageError(`AES-256-GCM needs a ${KEY_BYTES}-byte key`);
  if (nonce.length === 0) throw new CryptoUsageError('AES-256-GCM needs a non-empty nonce');
}
