// Envelope encryption for secrets, certificate keys and signing keys: node:crypto only, no other lib.
export { CryptoError, CryptoUsageError, DecryptionError, KeyringError } from './crypto.errors';
export type { DecryptionFailure, KeyringProblem } from './crypto.errors';
export type { EnvelopeIdentity } from './envelope.aad';
export { EnvelopeCipher, kekVersionOf, needsRewrap } from './envelope.cipher';
export type { EnvelopeCipherOptions, RewrapOptions, RewrapResult, SealedValue } from './envelope.cipher';
export {
  ENVELOPE_FORMAT_VERSION,
  MAX_KEK_VERSION,
  decodeEnvelope,
  encodeEnvelope,
  envelopeFromString,
  envelopeToString,
} from './envelope.format';
export type { Envelope } from './envelope.format';
export type { KekProvider } from './kek.provider';
export { generateKeyring } from './keyring.parser';
export type { KeyringOptions } from './keyring.parser';
export { LocalKekProvider } from './local-kek.provider';
export { nonceBudget } from './nonce.budget';
export type { NonceBudget, NonceBudgetOptions } from './nonce.budget';
