import { createHash, randomBytes } from 'node:crypto';

/** Recognisable prefixes: a leaked secret says what it is (and secret scanners can match it). */
export const TOKEN_PREFIXES = { admin: 'fs_admin_', server: 'fs_server_', client: 'fs_client_' } as const;
export type SecretKind = keyof typeof TOKEN_PREFIXES;

export interface IssuedSecret {
  /** Shown to the caller once, never stored. */
  secret: string;
  /** Stored: SHA-256 of the secret, hex. */
  hash: string;
  /** Stored and listed: enough to recognise the secret, not to use it. */
  prefix: string;
}

/**
 * 256 random bits, base64url. A fast hash suffices for lookups: with this much entropy a
 * dictionary or brute-force attack on a leaked hash is hopeless, unlike with passwords.
 */
export function issueSecret(kind: SecretKind): IssuedSecret {
  const secret = `${TOKEN_PREFIXES[kind]}${randomBytes(32).toString('base64url')}`;
  return { secret, hash: hashSecret(secret), prefix: secret.slice(0, TOKEN_PREFIXES[kind].length + 6) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Adopts an operator-chosen token (FLAGSTREAM_ADMIN_TOKEN) the same way. Its shape is unknown,
 * so only 4 characters are kept for recognition.
 */
export function adoptSecret(secret: string): IssuedSecret {
  return { secret, hash: hashSecret(secret), prefix: `${secret.slice(0, 4)}…` };
}
