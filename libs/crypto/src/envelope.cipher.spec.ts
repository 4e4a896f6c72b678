import { randomBytes } from 'node:crypto';
import { CryptoUsageError, DecryptionError } from './crypto.errors';
import type { DecryptionFailure } from './crypto.errors';
import type { EnvelopeIdentity } from './envelope.aad';
import { EnvelopeCipher, kekVersionOf, needsRewrap } from './envelope.cipher';
import { decodeEnvelope, envelopeToString } from './envelope.format';
import type { KekProvider } from './kek.provider';
import { LocalKekProvider } from './local-kek.provider';

const key1 = randomBytes(32);
const key2 = randomBytes(32);
const ring = (entries: Array<[number, Buffer]>, current?: number) => new LocalKekProvider(new Map(entries), current);

const identity: EnvelopeIdentity = {
  purpose: 'secret',
  project: 'shop',
  environment: 'production',
  path: 'payments/stripe/api-key',
  version: 4,
};

/** Awaits a refusal and returns its reason; fails the test if it resolved or threw anything else. */
async function reasonOf(promise: Promise<unknown>): Promise<DecryptionFailure> {
  const outcome: unknown = await promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );
  if (!(outcome instanceof DecryptionError)) throw new Error(`expected a DecryptionError, got ${String(outcome)}`);
  return outcome.reason;
}

describe('EnvelopeCipher round trips', () => {
  const cipher = new EnvelopeCipher(ring([[1, key1]]));

  it.each([
    ['empty', Buffer.alloc(0)],
    ['small', Buffer.from('sk_live_51H8xQ')],
    ['1 MiB', randomBytes(1024 * 1024)],
  ])('decrypts a %s plaintext to the same bytes', async (_label, plaintext) => {
    const sealed = await cipher.encrypt(plaintext, identity);
    expect(sealed).toHaveLength(42 + 60 + plaintext.length);
    expect((await cipher.decrypt(sealed, identity)).equals(plaintext)).toBe(true);
  });

  it('takes a string as UTF-8 and accepts the base64url text form', async () => {
    const sealed = await cipher.encrypt('pässwörd', identity);
    expect((await cipher.decrypt(envelopeToString(sealed), identity)).toString('utf8')).toBe('pässwörd');
  });

  it('accepts a Uint8Array view into a larger buffer', async () => {
    const backing = Buffer.from('xxsecretyy');
    const sealed = await cipher.encrypt(new Uint8Array(backing.buffer, backing.byteOffset + 2, 6), identity);
    expect((await cipher.decrypt(sealed, identity)).toString()).toBe('secret');
  });

  it('never encrypts the same plaintext twice alike (fresh data key and nonce)', async () => {
    const [a, b] = await Promise.all([cipher.encrypt('same', identity), cipher.encrypt('same', identity)]);
    const [ea, eb] = [decodeEnvelope(a), decodeEnvelope(b)];
    expect(a.equals(b)).toBe(false);
    expect(ea.nonce.equals(eb.nonce)).toBe(false);
    expect(ea.wrappedKey.equals(eb.wrappedKey)).toBe(false);
    expect(ea.ciphertext.equals(eb.ciphertext)).toBe(false);
  });

  it('does not carry the plaintext in the clear', async () => {
    const plaintext = Buffer.from('a very recognisable secret value');
    expect((await cipher.encrypt(plaintext, identity)).includes(plaintext)).toBe(false);
  });

  it('refuses a plaintext that is neither string nor bytes', async () => {
    await expect(cipher.encrypt(42 as unknown as string, identity)).rejects.toThrow(CryptoUsageError);
  });
});

describe('EnvelopeCipher refusals', () => {
  const cipher = new EnvelopeCipher(ring([[1, key1]]));
  const plaintext = randomBytes(32);
  let sealed: Buffer;
  beforeAll(async () => {
    sealed = await cipher.encrypt(plaintext, identity);
  });

  it('has the layout the flip table below assumes', () => {
    expect(sealed).toHaveLength(42 + 60 + 32);
  });

  /**
   * What flipping the top bit of each byte must produce: magic -> malformed, format -> unsupported,
   * KEK version -> a version the keyring lacks, lengths -> no longer add up, everything else
   * (wrapped key, nonce, ciphertext, tag) -> authentication failure.
   */
  const expectedAt = (position: number): DecryptionFailure => {
    if (position < 3) return 'malformed';
    if (position === 3) return 'unsupported-format';
    if (position < 8) return 'unknown-kek-version';
    if (position < 14) return 'malformed';
    return 'authentication-failed';
  };

  it('refuses a flipped bit at every byte position, with the reason of the field hit', async () => {
    const seen: string[] = [];
    for (let position = 0; position < sealed.length; position += 1) {
      const tampered = Buffer.from(sealed);
      tampered[position] ^= 0x80;
      seen.push(`${position}:${await reasonOf(cipher.decrypt(tampered, identity))}`);
    }
    expect(seen).toEqual(Array.from({ length: sealed.length }, (_, p) => `${p}:${expectedAt(p)}`));
  });

  it('refuses a flipped low bit at every byte position', async () => {
    for (let position = 0; position < sealed.length; position += 1) {
      const tampered = Buffer.from(sealed);
      tampered[position] ^= 0x01;
      expect(['malformed', 'unsupported-format', 'unknown-kek-version', 'authentication-failed']).toContain(
        await reasonOf(cipher.decrypt(tampered, identity)),
      );
    }
  });

  it('refuses every truncation and an appended byte as malformed', async () => {
    const reasons = new Set<string>();
    for (let length = 0; length < sealed.length; length += 1) {
      reasons.add(await reasonOf(cipher.decrypt(sealed.subarray(0, length), identity)));
    }
    reasons.add(await reasonOf(cipher.decrypt(Buffer.concat([sealed, Buffer.from([0])]), identity)));
    expect([...reasons]).toEqual(['malformed']);
  });

  it.each<[string, Partial<EnvelopeIdentity>]>([
    ['another path', { path: 'payments/stripe/webhook-secret' }],
    ['another version', { version: 5 }],
    ['another environment', { environment: 'staging' }],
    ['no environment', { environment: null }],
    ['another project', { project: 'shop-eu' }],
    ['another purpose', { purpose: 'certificate-key' }],
  ])('refuses the ciphertext under %s as authentication-failed', async (_label, change) => {
    expect(await reasonOf(cipher.decrypt(sealed, { ...identity, ...change }))).toBe('authentication-failed');
  });

  it('refuses a payload paired with another value\'s wrapped data key of the same identity', async () => {
    const other = decodeEnvelope(await cipher.encrypt(plaintext, identity));
    const spliced = Buffer.from(sealed);
    other.wrappedKey.copy(spliced, 14);
    expect(await reasonOf(cipher.decrypt(spliced, identity))).toBe('authentication-failed');
  });

  it('refuses a ciphertext from keyring A under keyring B with the same version number', async () => {
    const other = new EnvelopeCipher(ring([[1, randomBytes(32)]]));
    expect(await reasonOf(other.decrypt(sealed, identity))).toBe('authentication-failed');
  });

  it('refuses a KEK version the keyring does not hold as unknown-kek-version', async () => {
    const other = new EnvelopeCipher(ring([[2, key2]]));
    expect(await reasonOf(other.decrypt(sealed, identity))).toBe('unknown-kek-version');
  });

  it('refuses a header rewritten to another KEK version the keyring holds', async () => {
    const both = new EnvelopeCipher(ring([[1, key1], [2, key1]]));
    const relabelled = Buffer.from(sealed);
    relabelled.writeUInt32BE(2, 4);
    // Same KEK bytes under both versions: only the KEK version in the wrap AAD tells them apart.
    expect(await reasonOf(both.decrypt(relabelled, identity))).toBe('authentication-failed');
  });

  it('refuses a KEK version below the minimum as kek-version-retired, even with its key present', async () => {
    const raised = new EnvelopeCipher(ring([[1, key1], [2, key2]]), { minDecryptVersion: 2 });
    expect(await reasonOf(raised.decrypt(sealed, identity))).toBe('kek-version-retired');
    expect(await reasonOf(raised.rewrap(sealed, identity))).toBe('kek-version-retired');
  });

  it('keeps plaintext, keys and AAD out of every refusal message', async () => {
    const failures = await Promise.all([
      cipher.decrypt(sealed, { ...identity, path: 'other/path' }).catch((e: Error) => e),
      cipher.decrypt(sealed.subarray(0, 20), identity).catch((e: Error) => e),
    ]);
    for (const failure of failures) {
      const text = `${String(failure)} ${JSON.stringify(failure)}`;
      for (const secret of [plaintext.toString('hex'), key1.toString('hex'), key1.toString('base64'), 'payments/stripe', 'production']) {
        expect(text).not.toContain(secret);
      }
    }
  });

  it('passes a KEK provider outage through unchanged, so callers can retry', async () => {
    const outage = new Error('KMS unreachable');
    const flaky: KekProvider = {
      name: 'flaky',
      currentVersion: () => 1,
      versions: () => [1],
      wrap: () => Promise.reject(outage),
      unwrap: () => Promise.reject(outage),
    };
    await expect(new EnvelopeCipher(flaky).decrypt(sealed, identity)).rejects.toBe(outage);
  });
});

describe('KEK rotation and rewrap', () => {
  const plaintext = Buffer.from('postgres://app:hunter2@db/shop');

  it('moves a v1 ciphertext to v2 without touching the payload, then retires v1', async () => {
    const v1 = await new EnvelopeCipher(ring([[1, key1]])).encrypt(plaintext, identity);
    expect(kekVersionOf(v1)).toBe(1);

    // Rotate: v2 joins the keyring and becomes current.
    const rotated = new EnvelopeCipher(ring([[1, key1], [2, key2]]));
    expect(rotated.needsRewrap(v1)).toBe(true);
    const result = await rotated.rewrap(v1, identity);
    expect(result).toMatchObject({ fromVersion: 1, toVersion: 2, changed: true });
    const [before, after] = [decodeEnvelope(v1), decodeEnvelope(result.ciphertext)];
    expect(after.kekVersion).toBe(2);
    expect(after.nonce.equals(before.nonce)).toBe(true);
    expect(after.ciphertext.equals(before.ciphertext)).toBe(true);
    expect(after.tag.equals(before.tag)).toBe(true);
    expect(after.wrappedKey.equals(before.wrappedKey)).toBe(false);
    expect((await rotated.decrypt(result.ciphertext, identity)).equals(plaintext)).toBe(true);
    expect(rotated.needsRewrap(result.ciphertext)).toBe(false);

    // Raise the minimum: the old ciphertext is refused, the rewrapped one still opens.
    const raised = new EnvelopeCipher(ring([[1, key1], [2, key2]]), { minDecryptVersion: 2 });
    expect(await reasonOf(raised.decrypt(v1, identity))).toBe('kek-version-retired');
    expect((await raised.decrypt(result.ciphertext, identity)).equals(plaintext)).toBe(true);

    // Retire: v1 leaves the keyring; the rewrapped ciphertext needs only v2.
    const retired = new EnvelopeCipher(ring([[2, key2]]), { minDecryptVersion: 2 });
    expect((await retired.decrypt(result.ciphertext, identity)).equals(plaintext)).toBe(true);
  });

  it('is a no-op for a ciphertext already under the target version', async () => {
    const wraps: number[] = [];
    const cipher = new EnvelopeCipher(ring([[1, key1]]), { onWrap: (v) => void wraps.push(v) });
    const sealed = await cipher.encrypt(plaintext, identity);
    const result = await cipher.rewrap(envelopeToString(sealed), identity);
    expect(result).toMatchObject({ fromVersion: 1, toVersion: 1, changed: false });
    expect(result.ciphertext.equals(sealed)).toBe(true);
    expect(wraps).toEqual([1]);
  });

  it('rewraps to an explicit version', async () => {
    const cipher = new EnvelopeCipher(ring([[1, key1], [2, key2], [3, randomBytes(32)]]));
    const sealed = await cipher.encrypt(plaintext, identity);
    const result = await cipher.rewrap(sealed, identity, { toVersion: 2 });
    expect(kekVersionOf(result.ciphertext)).toBe(2);
    expect(needsRewrap(result.ciphertext, 3)).toBe(true);
    expect(needsRewrap(result.ciphertext, 2)).toBe(false);
    expect((await cipher.decrypt(result.ciphertext, identity)).equals(plaintext)).toBe(true);
  });

  it('refuses to rewrap a tampered payload, or under the wrong identity', async () => {
    const cipher = new EnvelopeCipher(ring([[1, key1], [2, key2]], 1));
    const sealed = await cipher.encrypt(plaintext, identity);
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 20] ^= 0x01;
    expect(await reasonOf(cipher.rewrap(tampered, identity, { toVersion: 2 }))).toBe('authentication-failed');
    expect(await reasonOf(cipher.rewrap(sealed, { ...identity, version: 5 }, { toVersion: 2 }))).toBe('authentication-failed');
  });

  it('refuses to wrap under a version the keyring lacks or the policy has retired', async () => {
    const cipher = new EnvelopeCipher(ring([[1, key1], [2, key2]], 1), { minDecryptVersion: 1 });
    const sealed = await cipher.encrypt(plaintext, identity);
    await expect(cipher.rewrap(sealed, identity, { toVersion: 3 })).rejects.toThrow('KEK version 3 is not held by the local provider');
    const stale = new EnvelopeCipher(ring([[1, key1], [2, key2]], 1), { minDecryptVersion: 2 });
    await expect(stale.encrypt(plaintext, identity)).rejects.toThrow('below the minimum decryption version 2');
  });

  it('refuses a nonsensical minimum', () => {
    expect(() => new EnvelopeCipher(ring([[1, key1]]), { minDecryptVersion: 0 })).toThrow(CryptoUsageError);
  });

  it('reports malformed input from needsRewrap rather than guessing', () => {
    expect(() => needsRewrap('not base64url!', 1)).toThrow(DecryptionError);
  });
});

describe('onWrap counting', () => {
  const plaintext = Buffer.from('token');

  it('reports one use of the KEK version per wrap: each encryption and each changing rewrap', async () => {
    const counts = new Map<number, number>();
    const onWrap = async (version: number) => {
      await Promise.resolve();
      counts.set(version, (counts.get(version) ?? 0) + 1);
    };
    const v1 = new EnvelopeCipher(ring([[1, key1]]), { onWrap });
    const sealed = await Promise.all([v1.encrypt(plaintext, identity), v1.encrypt(plaintext, identity), v1.encrypt(plaintext, identity)]);
    const v2 = new EnvelopeCipher(ring([[1, key1], [2, key2]]), { onWrap });
    await v2.rewrap(sealed[0], identity);
    await v2.decrypt(sealed[1], identity);
    expect(Object.fromEntries(counts)).toEqual({ 1: 3, 2: 1 });
  });

  it('refuses the encryption before using the KEK when the hook throws (budget exhausted)', async () => {
    let wraps = 0;
    const provider = ring([[1, key1]]);
    const counting: KekProvider = {
      name: provider.name,
      currentVersion: () => provider.currentVersion(),
      versions: () => provider.versions(),
      wrap: (...args) => {
        wraps += 1;
        return provider.wrap(...args);
      },
      unwrap: (...args) => provider.unwrap(...args),
    };
    const cipher = new EnvelopeCipher(counting, {
      onWrap: () => {
        throw new Error('nonce budget of KEK version 1 is exhausted');
      },
    });
    await expect(cipher.encrypt(plaintext, identity)).rejects.toThrow('nonce budget of KEK version 1 is exhausted');
    expect(wraps).toBe(0);
  });
});
