import { createHash } from 'node:crypto';
import { EnvelopeCipher, KeyringError, LocalKekProvider, nonceBudget, type KekProvider } from '@flagstream/crypto';
import { EnvValidationError, type EnvSpec } from './env';

/** Where the key-encryption keys of secrets come from (docs/secrets.md#key-hierarchy). */
export const KEK_ENV = {
  FLAGSTREAM_KEK: { type: 'string', sensitive: true, description: 'keyring of key-encryption keys: "1:<base64 of 32 bytes>,2:<…>" (the highest is current); required in production unless FLAGSTREAM_KEK_FILE is set' },
  FLAGSTREAM_KEK_FILE: { type: 'string', description: 'path of a JSON key file {"current": 2, "keys": {"1": "<base64>", "2": "<base64>"}} instead of FLAGSTREAM_KEK' },
  FLAGSTREAM_KEK_MIN_VERSION: { type: 'integer', minimum: 1, default: 1, description: 'lowest KEK version still allowed to decrypt (raise it after a rewrap, then retire the old keys)' },
} as const satisfies EnvSpec;

/**
 * The development keyring: a public, well-known key so that `npm start` works out of the box and
 * secrets survive restarts. Never a secret; production refuses it.
 */
export const DEV_KEYRING = `1:${createHash('sha256').update('flagstream development key-encryption key, not for production').digest('base64')}`;

export interface KekEnv {
  NODE_ENV: string;
  FLAGSTREAM_KEK?: string;
  FLAGSTREAM_KEK_FILE?: string;
  FLAGSTREAM_KEK_MIN_VERSION: number;
}

/**
 * The KEK provider of this process: the keyring from FLAGSTREAM_KEK or FLAGSTREAM_KEK_FILE; in
 * production one of them is required and the development keyring is refused; elsewhere the
 * development keyring stands in. Errors name the variable, never key material.
 */
export async function kekProviderFrom(env: KekEnv): Promise<{ provider: KekProvider; development: boolean }> {
  if (env.FLAGSTREAM_KEK && env.FLAGSTREAM_KEK_FILE) throw new EnvValidationError(['FLAGSTREAM_KEK and FLAGSTREAM_KEK_FILE: set one, not both']);
  try {
    if (env.FLAGSTREAM_KEK_FILE) return { provider: await LocalKekProvider.fromKeyFile(env.FLAGSTREAM_KEK_FILE), development: false };
    if (env.FLAGSTREAM_KEK) {
      if (env.NODE_ENV === 'production' && env.FLAGSTREAM_KEK === DEV_KEYRING) throw new EnvValidationError(['FLAGSTREAM_KEK: the development keyring is public; generate a keyring for production (docs/secrets.md)']);
      return { provider: LocalKekProvider.fromEnvValue(env.FLAGSTREAM_KEK), development: false };
    }
  } catch (e) {
    if (e instanceof KeyringError) throw new EnvValidationError([`${env.FLAGSTREAM_KEK_FILE ? 'FLAGSTREAM_KEK_FILE' : 'FLAGSTREAM_KEK'}: ${e.message}`]);
    if (e instanceof EnvValidationError) throw e;
    throw new EnvValidationError([`FLAGSTREAM_KEK_FILE: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  if (env.NODE_ENV === 'production') throw new EnvValidationError(['FLAGSTREAM_KEK: is required when NODE_ENV=production (or FLAGSTREAM_KEK_FILE); see docs/secrets.md']);
  return { provider: LocalKekProvider.fromEnvValue(DEV_KEYRING), development: true };
}

/** What the cipher reports about the nonce budget of a KEK version. */
export interface KekUsageHooks {
  /** Persists one use and returns the total for that version. */
  countUse(kekVersion: number): Promise<number>;
  /** Called on each wrap past the rotation point (half the budget): time to rotate. */
  onShouldRotate?(kekVersion: number, uses: number): void;
}

/**
 * The envelope cipher of secrets: every wrap under a KEK version is counted first; past the
 * NIST SP 800-38D budget of 2^32 random nonces per key the encryption is refused (rotate the KEK).
 */
export function secretCipher(provider: KekProvider, minDecryptVersion: number, hooks: KekUsageHooks): EnvelopeCipher {
  return new EnvelopeCipher(provider, {
    minDecryptVersion,
    onWrap: async (kekVersion) => {
      const uses = await hooks.countUse(kekVersion);
      const budget = nonceBudget(uses);
      if (budget.mustRotate) throw new Error(`KEK version ${kekVersion} has used its nonce budget (${uses} wraps); rotate the KEK`);
      if (budget.shouldRotate) hooks.onShouldRotate?.(kekVersion, uses);
    },
  });
}
