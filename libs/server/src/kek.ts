import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { EnvelopeCipher, KeyringError, LocalKekProvider, nonceBudget, type KekProvider } from '@flagstream/crypto';
import { EnvValidationError, type EnvSpec } from './env';

/** Where the key-encryption keys of secrets come from (docs/secrets.md#key-hierarchy). */
export const KEK_ENV = {
  FLAGSTREAM_KEK: { type: 'string', sensitive: true, description: 'keyring of key-encryption keys: "1:<base64 of 32 bytes>,2:<…>" (the highest is current); required in production unless FLAGSTREAM_KEK_FILE is set' },
  FLAGSTREAM_KEK_FILE: { type: 'string', description: 'path of a JSON key file {"current": 2, "keys": {"1": "<base64>", "2": "<base64>"}} instead of FLAGSTREAM_KEK' },
  FLAGSTREAM_KEK_MIN_VERSION: { type: 'integer', minimum: 1, default: 1, description: 'lowest KEK version still allowed to decrypt (raise it after a rewrap, then retire the old keys)' },
  FLAGSTREAM_KEK_CURRENT: { type: 'integer', minimum: 1, description: 'the version that seals new values, when not the highest of FLAGSTREAM_KEK (a rotation in two steps: deploy the new key everywhere first, then make it current)' },
} as const satisfies EnvSpec;

/**
 * The development keyring: a public, well-known key so that `npm start` works out of the box and
 * secrets survive restarts. Never a secret; production refuses it.
 */
const DEV_KEY = createHash('sha256').update('flagstream development key-encryption key, not for production').digest('base64');
export const DEV_KEYRING = `1:${DEV_KEY}`;

export interface KekEnv {
  NODE_ENV: string;
  FLAGSTREAM_KEK?: string;
  FLAGSTREAM_KEK_FILE?: string;
  FLAGSTREAM_KEK_MIN_VERSION: number;
  FLAGSTREAM_KEK_CURRENT?: number;
}

/**
 * The KEK provider of this process: the keyring from FLAGSTREAM_KEK or FLAGSTREAM_KEK_FILE; in
 * production one of them is required and the development keyring is refused; elsewhere the
 * development keyring stands in. Errors name the variable, never key material.
 */
export async function kekProviderFrom(env: KekEnv): Promise<{ provider: KekProvider; development: boolean }> {
  if (env.FLAGSTREAM_KEK && env.FLAGSTREAM_KEK_FILE) throw new EnvValidationError(['FLAGSTREAM_KEK and FLAGSTREAM_KEK_FILE: set one, not both']);
  try {
    if (env.FLAGSTREAM_KEK_FILE) {
      if (env.FLAGSTREAM_KEK_CURRENT !== undefined) throw new EnvValidationError(['FLAGSTREAM_KEK_CURRENT: with FLAGSTREAM_KEK_FILE, set "current" in the key file']);
      const text = await readFile(env.FLAGSTREAM_KEK_FILE, 'utf8');
      if (env.NODE_ENV === 'production' && text.includes(DEV_KEY)) throw new EnvValidationError(['FLAGSTREAM_KEK_FILE: holds the public development key; generate keys for production (docs/secrets.md)']);
      return { provider: LocalKekProvider.fromKeyFileText(text), development: false };
    }
    if (env.FLAGSTREAM_KEK) {
      // The development key is public: refused in production wherever it appears in the keyring.
      if (env.NODE_ENV === 'production' && env.FLAGSTREAM_KEK.split(',').some((entry) => entry.trim().endsWith(`:${DEV_KEY}`))) {
        throw new EnvValidationError(['FLAGSTREAM_KEK: holds the public development key; generate a keyring for production (docs/secrets.md)']);
      }
      return { provider: LocalKekProvider.fromEnvValue(env.FLAGSTREAM_KEK, env.FLAGSTREAM_KEK_CURRENT === undefined ? {} : { current: env.FLAGSTREAM_KEK_CURRENT }), development: false };
    }
  } catch (e) {
    if (e instanceof KeyringError) throw new EnvValidationError([`${env.FLAGSTREAM_KEK_FILE ? 'FLAGSTREAM_KEK_FILE' : 'FLAGSTREAM_KEK'}: ${e.message}`]);
    if (e instanceof EnvValidationError) throw e;
    throw new EnvValidationError([`FLAGSTREAM_KEK_FILE: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  if (env.NODE_ENV === 'production') throw new EnvValidationError(['FLAGSTREAM_KEK: is required when NODE_ENV=production (or FLAGSTREAM_KEK_FILE); see docs/secrets.md']);
  return { provider: LocalKekProvider.fromEnvValue(DEV_KEYRING), development: true };
}

/** Where the cipher keeps the count of wraps per KEK version (the nonce budget). */
export interface KekUsageHooks {
  /**
   * Adds `n` wraps of a version (0 reads the total) and returns the new total. Runs on its own,
   * never inside a write transaction: the count is kept in memory and flushed after each wrap.
   */
  countUses(kekVersion: number, n: number): Promise<number>;
  /** Called on each wrap past the rotation point (half the budget): time to rotate. */
  onShouldRotate?(kekVersion: number, uses: number): void;
  /** A flush failed (the uses stay pending and are flushed with the next one). */
  onCountError?(err: unknown): void;
}

/** The envelope cipher of secrets, with `flush()` to write the pending use counts now. */
export type SecretCipher = EnvelopeCipher & { flush(): Promise<void> };

/**
 * The envelope cipher of secrets: every wrap under a KEK version is counted; past the NIST SP
 * 800-38D budget of 2^32 random nonces per key the encryption is refused (rotate the KEK). The
 * count is kept in memory (total known from Postgres + pending) and flushed to Postgres right
 * after, outside the caller's transaction: a wrap inside a write never waits for a second pool
 * connection (which could deadlock a full pool). A crash can lose the last pending counts (a few
 * wraps of a 2^32 budget).
 */
export function secretCipher(provider: KekProvider, minDecryptVersion: number, hooks: KekUsageHooks): SecretCipher {
  const known = new Map<number, number>();
  const pending = new Map<number, number>();
  let flushing: Promise<void> | null = null;
  let again = false;

  const flushOnce = async (): Promise<void> => {
    const batch = [...pending.entries()];
    pending.clear();
    for (const [version, n] of batch) {
      try {
        known.set(version, await hooks.countUses(version, n));
      } catch (err) {
        pending.set(version, (pending.get(version) ?? 0) + n);
        hooks.onCountError?.(err);
      }
    }
  };
  const flush = (): Promise<void> => {
    if (flushing) {
      again = true;
      return flushing;
    }
    flushing = (async () => {
      do {
        again = false;
        await flushOnce();
      } while (again && pending.size);
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  };
  // The current version's total, known from the start (a zero-use flush reads it).
  pending.set(provider.currentVersion(), 0);
  void flush();

  const cipher = new EnvelopeCipher(provider, {
    minDecryptVersion,
    onWrap: (kekVersion) => {
      const uses = (known.get(kekVersion) ?? 0) + (pending.get(kekVersion) ?? 0) + 1;
      const budget = nonceBudget(uses);
      if (budget.mustRotate) throw new Error(`KEK version ${kekVersion} has used its nonce budget (${uses} wraps); rotate the KEK`);
      if (budget.shouldRotate) hooks.onShouldRotate?.(kekVersion, uses);
      pending.set(kekVersion, (pending.get(kekVersion) ?? 0) + 1);
      void flush();
    },
  });
  return Object.assign(cipher, { flush });
}
