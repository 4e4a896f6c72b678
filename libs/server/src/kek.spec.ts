import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyring } from '@flagstream/crypto';
import { EnvValidationError } from './env';
import { DEV_KEYRING, kekProviderFrom, secretCipher } from './kek';

const base = { FLAGSTREAM_KEK_MIN_VERSION: 1 };
const problems = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EnvValidationError);
  return (e as EnvValidationError).problems.join('\n');
};

describe('kekProviderFrom', () => {
  it('refuses to start production without a keyring, or with the public development one', async () => {
    expect(await problems(kekProviderFrom({ ...base, NODE_ENV: 'production' }))).toMatch(/^FLAGSTREAM_KEK: is required when NODE_ENV=production/);
    expect(await problems(kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK: DEV_KEYRING }))).toMatch(/holds the public development key/);
    // Also beside a real key.
    const mixed = `${DEV_KEYRING},${generateKeyring(1).replace(/^1:/, '2:')}`;
    expect(await problems(kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK: mixed }))).toMatch(/holds the public development key/);
  });

  it('uses the development keyring elsewhere, and says so', async () => {
    const dev = await kekProviderFrom({ ...base, NODE_ENV: 'development' });
    expect(dev.development).toBe(true);
    expect(dev.provider.versions()).toEqual([1]);
  });

  it('loads a keyring from the variable or a key file, and names the variable (never the key) when it is bad', async () => {
    const ring = generateKeyring(2);
    const fromEnv = await kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK: ring });
    expect([fromEnv.development, fromEnv.provider.currentVersion(), fromEnv.provider.versions()]).toEqual([false, 2, [1, 2]]);
    const dir = await mkdtemp(path.join(tmpdir(), 'flagstream-kek-'));
    const file = path.join(dir, 'kek.json');
    const key = ring.split(',')[0].split(':')[1];
    await writeFile(file, JSON.stringify({ keys: { '1': key } }), { mode: 0o600 });
    expect((await kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK_FILE: file })).provider.versions()).toEqual([1]);

    const short = '1:c2hvcnQta2V5';
    const bad = await problems(kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK: short }));
    expect(bad).toMatch(/^FLAGSTREAM_KEK: /);
    expect(bad).not.toContain('c2hvcnQta2V5');
    expect(await problems(kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK_FILE: path.join(dir, 'missing.json') }))).toBe('FLAGSTREAM_KEK_FILE: cannot be read (ENOENT)');
    expect(await problems(kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK: ring, FLAGSTREAM_KEK_FILE: file }))).toBe('FLAGSTREAM_KEK and FLAGSTREAM_KEK_FILE: set one, not both');
    // A rotation in two steps: the new version deployed everywhere first, still not current.
    const staged = await kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK: ring, FLAGSTREAM_KEK_CURRENT: 1 });
    expect([staged.provider.currentVersion(), staged.provider.versions()]).toEqual([1, [1, 2]]);
    expect(await problems(kekProviderFrom({ ...base, NODE_ENV: 'production', FLAGSTREAM_KEK: ring, FLAGSTREAM_KEK_CURRENT: 3 }))).toMatch(/^FLAGSTREAM_KEK: /);
  });
});

describe('secretCipher', () => {
  const id = { purpose: 'secret', project: 'p', environment: 'e', path: 'a', version: 1 };

  it('counts every wrap in memory and flushes it outside the caller, warns past half the budget, refuses past all of it', async () => {
    const { provider } = await kekProviderFrom({ ...base, NODE_ENV: 'test', FLAGSTREAM_KEK: generateKeyring() });
    let stored = 0;
    const calls: Array<[number, number]> = [];
    const warned: number[] = [];
    const cipher = secretCipher(provider, 1, {
      countUses: async (v, n) => {
        calls.push([v, n]);
        return (stored += n);
      },
      onShouldRotate: (_v, uses) => warned.push(uses),
    });
    await cipher.flush();
    expect(calls).toEqual([[1, 0]]);
    expect((await cipher.decrypt(await cipher.encrypt('hello', id), id)).toString()).toBe('hello');
    await cipher.encrypt('again', id);
    await cipher.flush();
    expect(stored).toBe(2);
    expect(warned).toEqual([]);

    // Another process has used most of the budget: the next flush learns the total.
    stored = 2 ** 31 - 2;
    await cipher.encrypt('x', id);
    await cipher.flush();
    expect(stored).toBe(2 ** 31 - 1);
    await cipher.encrypt('x', id);
    expect(warned).toEqual([2 ** 31]);
    await cipher.flush();
    // One more wrap brings the stored total to 2^32: the next one is refused.
    stored = 2 ** 32 - 1;
    await cipher.encrypt('x', id);
    await cipher.flush();
    await expect(cipher.encrypt('x', id)).rejects.toThrow('KEK version 1 has used its nonce budget (4294967297 wraps); rotate the KEK');
  });

  it('keeps uses pending when a flush fails, and flushes them with the next one', async () => {
    const { provider } = await kekProviderFrom({ ...base, NODE_ENV: 'test', FLAGSTREAM_KEK: generateKeyring() });
    let failing = true;
    let stored = 0;
    const errors: unknown[] = [];
    const cipher = secretCipher(provider, 1, {
      countUses: async (_v, n) => {
        if (failing && n > 0) throw new Error('database down');
        return (stored += n);
      },
      onCountError: (e) => errors.push(e),
    });
    await cipher.encrypt('a', id);
    await cipher.encrypt('b', id);
    await cipher.flush();
    expect(stored).toBe(0);
    expect(errors.length).toBeGreaterThan(0);
    failing = false;
    await cipher.encrypt('c', id);
    await cipher.flush();
    expect(stored).toBe(3);
  });
});
