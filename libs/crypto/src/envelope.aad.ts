import { CryptoUsageError } from './crypto.errors';

/**
 * What a ciphertext is bound to. Decryption succeeds only with the exact identity used to encrypt,
 * so a ciphertext copied to another row (another path, version, environment or project) or reused
 * for another purpose is refused.
 */
export interface EnvelopeIdentity {
  /**
   * What the value is, e.g. `'secret'`, `'certificate-key'`, `'signing-key'`: lower-case letters,
   * digits and dashes. It becomes the domain-separation label `flagstream/<purpose>/v1`.
   */
  purpose: string;
  /** Project key. */
  project: string;
  /** Environment key, or `null` for project-wide material (e.g. a project's signing keys). */
  environment: string | null;
  /** Path or key id inside the project, e.g. `payments/stripe/api-key`. */
  path: string;
  /** Version of the value (secret version, key generation); a non-negative safe integer. */
  version: number;
}

const PURPOSE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * AAD of the payload: `label, project, environment, path, version`, each a length-prefixed field
 * (4-byte big-endian length, then the bytes), so that no two identities encode alike however their
 * strings are chosen. Strings are UTF-8; a `null` environment is the empty field (a present one must
 * be non-empty); the version is an 8-byte big-endian unsigned integer.
 *
 * The KEK version is not in here: a rewrap changes it without touching the payload.
 */
export function payloadAad(identity: EnvelopeIdentity): Buffer {
  const { purpose, project, environment, path, version } = identity;
  if (typeof purpose !== 'string' || !PURPOSE.test(purpose)) {
    throw new CryptoUsageError('identity.purpose must be lower-case letters, digits and single dashes');
  }
  if (environment !== null) nonEmptyText('environment', environment);
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new CryptoUsageError('identity.version must be a non-negative safe integer');
  }
  const versionBytes = Buffer.alloc(8);
  versionBytes.writeBigUInt64BE(BigInt(version));
  return Buffer.concat(
    [
      Buffer.from(`flagstream/${purpose}/v1`, 'utf8'),
      nonEmptyText('project', project),
      environment === null ? Buffer.alloc(0) : Buffer.from(environment, 'utf8'),
      nonEmptyText('path', path),
      versionBytes,
    ].flatMap(lengthPrefixed),
  );
}

/**
 * AAD of the key wrap: the payload AAD followed by the 4-byte big-endian KEK version, so a wrapped
 * data key opens only for the identity and the KEK version it was wrapped for (a KEK version
 * rewritten in the header is refused even when the keyring holds both versions' keys).
 */
export function wrapAad(identity: EnvelopeIdentity, kekVersion: number): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(kekVersion);
  return Buffer.concat([payloadAad(identity), version]);
}

function lengthPrefixed(field: Buffer): Buffer[] {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(field.length);
  return [length, field];
}

function nonEmptyText(name: string, value: unknown): Buffer {
  if (typeof value !== 'string' || value.length === 0) {
    throw new CryptoUsageError(`identity.${name} must be a non-empty string`);
  }
  const bytes = Buffer.from(value, 'utf8');
  // Lone surrogates all encode as U+FFFD: refuse them so two different strings never share an AAD.
  if (bytes.toString('utf8') !== value) throw new CryptoUsageError(`identity.${name} is not well-formed Unicode`);
  return bytes;
}
