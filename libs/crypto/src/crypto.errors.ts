/**
 * Errors of the crypto library. They stand alone (this lib may import no other lib); an app maps
 * them once to its transport, as it does for `DomainError`. No message ever carries plaintext,
 * key material or AAD bytes: the messages are fixed per reason or name only positions and versions.
 */
export abstract class CryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Why a ciphertext was refused. Callers branch on this, never on the message. */
export type DecryptionFailure =
  | 'malformed'
  | 'unsupported-format'
  | 'unknown-kek-version'
  | 'kek-version-retired'
  | 'authentication-failed';

const DECRYPTION_MESSAGES: Record<DecryptionFailure, string> = {
  malformed: 'ciphertext is malformed',
  'unsupported-format': 'ciphertext uses an unsupported format version',
  'unknown-kek-version': 'ciphertext was wrapped under a KEK version this keyring does not hold',
  'kek-version-retired': 'ciphertext was wrapped under a KEK version below the minimum decryption version',
  'authentication-failed': 'ciphertext failed authentication (tampered, wrong key or wrong identity)',
};

/**
 * A ciphertext could not be opened. One generic message per reason, so that an error that reaches
 * a log or a response reveals nothing about the value, the key or the identity it was bound to.
 */
export class DecryptionError extends CryptoError {
  constructor(readonly reason: DecryptionFailure) {
    super(DECRYPTION_MESSAGES[reason]);
  }
}

/** What is wrong with a master keyring (environment value or key file). */
export type KeyringProblem = 'empty' | 'malformed' | 'bad-version' | 'bad-key' | 'duplicate-version' | 'missing-current';

/**
 * The master keyring could not be loaded. Messages name the entry position or the version number,
 * never the text of an entry, because an entry may be (or contain) key material.
 */
export class KeyringError extends CryptoError {
  constructor(
    readonly problem: KeyringProblem,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The caller broke the contract (bad identity, plaintext of the wrong type, a KEK version the
 * policy forbids for new wraps). A programming or configuration error, never a tampered input.
 */
export class CryptoUsageError extends CryptoError {}
