import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { DecryptionError, KeyringError } from './crypto.errors';
import { generateKeyring } from './keyring.parser';
import { LocalKekProvider } from './local-kek.provider';

const key1 = randomBytes(32);
const key2 = randomBytes(32);
const b64 = (key: Buffer) => key.toString('base64');

/** Every way a key's bytes could show up in text: base64, base64url, hex, and a 12-character slice of each. */
const traces = (...keys: Buffer[]) =>
  keys.flatMap((key) =>
    [key.toString('base64'), key.toString('base64url'), key.toString('hex')].flatMap((text) => [text, text.slice(8, 20)]),
  );

const expectNoKeyIn = (text: string, ...keys: Buffer[]) => {
  for (const trace of traces(...keys)) expect(text).not.toContain(trace);
};

const problemOf = (fn: () => unknown): { problem: string; message: string } => {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeyringError) return { problem: error.problem, message: error.message };
    throw error;
  }
  throw new Error('expected a KeyringError');
};

describe('LocalKekProvider.fromEnvValue', () => {
  it('loads versions and makes the highest current', () => {
    const provider = LocalKekProvider.fromEnvValue(`2:${b64(key2)}, 1:${b64(key1)}`);
    expect(provider.versions()).toEqual([1, 2]);
    expect(provider.currentVersion()).toBe(2);
    expect(provider.name).toBe('local');
  });

  it('takes the current version when told, accepts url-safe base64 and ignores empty entries', () => {
    const provider = LocalKekProvider.fromEnvValue(`1:${key1.toString('base64url')},2:${b64(key2)},`, { current: 1 });
    expect(provider.currentVersion()).toBe(1);
    expect(provider.versions()).toEqual([1, 2]);
  });

  it.each([
    ['an empty value', ' , ', 'empty', 'keyring is empty'],
    ['an entry without a version', `${b64(key1)}`, 'malformed', 'keyring entry 1 is not <version>:<base64 key>'],
    ['a non-numeric version', `v1:${b64(key1)}`, 'bad-version', 'keyring entry 1: the version must be an integer'],
    ['version 0', `0:${b64(key1)}`, 'bad-version', 'keyring entry 1: the version must be an integer'],
    ['a leading zero', `1:${b64(key1)},02:${b64(key2)}`, 'bad-version', 'keyring entry 2: the version must be an integer'],
    ['a version past 2^32 - 1', `4294967296:${b64(key1)}`, 'bad-version', 'keyring entry 1'],
    ['a duplicate version', `1:${b64(key1)},1:${b64(key2)}`, 'duplicate-version', 'keyring has version 1 more than once'],
    ['a short key', `1:${b64(key1.subarray(0, 16))}`, 'bad-key', 'keyring version 1: a KEK must be exactly 32 bytes, got 16 bytes'],
    ['a long key', `1:${b64(Buffer.concat([key1, key2]))}`, 'bad-key', 'got 64 bytes'],
    ['a key that is not base64', `1:${b64(key1).replace(/.$/, '!')}`, 'bad-key', 'keyring version 1: the key is not base64'],
    ['an all-zero key', `1:${b64(Buffer.alloc(32))}`, 'bad-key', 'all zeros'],
  ])('refuses %s', (_label, value, problem, message) => {
    const error = problemOf(() => LocalKekProvider.fromEnvValue(value));
    expect(error.problem).toBe(problem);
    expect(error.message).toContain(message);
    expectNoKeyIn(error.message, key1, key2);
  });

  it('refuses a current version without a key, naming the versions it has', () => {
    const error = problemOf(() => LocalKekProvider.fromEnvValue(`1:${b64(key1)}`, { current: 2 }));
    expect(error).toEqual({ problem: 'missing-current', message: 'current version 2 has no key in the keyring (versions: 1)' });
  });
});

describe('LocalKekProvider.fromKeyFileText', () => {
  const file = (body: unknown) => JSON.stringify(body);

  it('loads the key file form', () => {
    const provider = LocalKekProvider.fromKeyFileText(file({ current: 1, keys: { '1': b64(key1), '2': b64(key2) } }));
    expect(provider.currentVersion()).toBe(1);
    expect(provider.versions()).toEqual([1, 2]);
  });

  it('defaults current to the highest version', () => {
    expect(LocalKekProvider.fromKeyFileText(file({ keys: { '7': b64(key1), '3': b64(key2) } })).currentVersion()).toBe(7);
  });

  it.each([
    ['invalid JSON (whose parser message would quote the key)', `{"keys": {"1": ${b64(key1)}}}`, 'malformed', 'key file is not valid JSON'],
    ['truncated JSON', `{"keys": {"1": "${b64(key1)}" `, 'malformed', 'key file is not valid JSON'],
    ['an array', file([b64(key1)]), 'malformed', 'with a "keys" object'],
    ['a typo in "current"', file({ curent: 1, keys: { '1': b64(key1) } }), 'malformed', 'unknown top-level field'],
    ['no keys', file({ keys: {} }), 'empty', 'key file "keys" is empty'],
    ['a key named by its bytes', file({ keys: { [b64(key1)]: b64(key2) } }), 'bad-version', 'key file "keys" entry 1'],
    ['a key that is not a string', file({ keys: { '1': [1, 2] } }), 'bad-key', 'key file version 1: the key must be a base64 string'],
    ['a short key', file({ keys: { '1': b64(key1.subarray(0, 31)) } }), 'bad-key', 'got 31 bytes'],
    ['a textual current', file({ current: '2', keys: { '2': b64(key2) } }), 'bad-version', '"current" must be a version number'],
    ['a missing current', file({ current: 3, keys: { '1': b64(key1), '2': b64(key2) } }), 'missing-current', 'versions: 1, 2'],
  ])('refuses %s', (_label, text, problem, message) => {
    const error = problemOf(() => LocalKekProvider.fromKeyFileText(text));
    expect(error.problem).toBe(problem);
    expect(error.message).toContain(message);
    expectNoKeyIn(error.message, key1, key2);
  });

  it('reads a key file from disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flagstream-kek-'));
    try {
      const path = join(dir, 'kek.json');
      await writeFile(path, file({ current: 2, keys: { '1': b64(key1), '2': b64(key2) } }), { mode: 0o600 });
      const provider = await LocalKekProvider.fromKeyFile(path);
      expect(provider.toJSON()).toEqual({ name: 'local', current: 2, versions: [1, 2] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('LocalKekProvider keeps its keys to itself', () => {
  const provider = LocalKekProvider.fromEnvValue(`1:${b64(key1)},2:${b64(key2)}`);

  it('shows no key bytes to JSON.stringify, also when nested', () => {
    const json = JSON.stringify({ service: { kek: provider } });
    expect(json).toBe('{"service":{"kek":{"name":"local","current":2,"versions":[1,2]}}}');
  });

  it('shows no key bytes to util.inspect, also with hidden properties and when nested', () => {
    const text = inspect({ kek: provider }, { showHidden: true, depth: 10 });
    expect(text).toContain('LocalKekProvider { name: \'local\', current: 2, versions: [1, 2] }');
    expectNoKeyIn(text, key1, key2);
    expectNoKeyIn(inspect(provider, { showHidden: true, depth: 10, customInspect: false }), key1, key2);
  });

  it('exposes no enumerable property holding a key', () => {
    expect(Object.keys(provider)).toEqual(['name']);
  });

  it('copies the keys it is given, so the caller can wipe its buffers', async () => {
    const mine = Buffer.from(key1);
    const own = new LocalKekProvider(new Map([[1, mine]]));
    const aad = Buffer.from('aad');
    const wrapped = await own.wrap(1, key2, aad);
    mine.fill(0);
    expect((await own.unwrap(1, wrapped, aad)).equals(key2)).toBe(true);
  });
});

describe('LocalKekProvider wrap and unwrap', () => {
  const provider = LocalKekProvider.fromEnvValue(`1:${b64(key1)},2:${b64(key2)}`);
  const dataKey = randomBytes(32);
  const aad = Buffer.from('identity');

  const reasonOf = async (promise: Promise<unknown>) => {
    const error: unknown = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DecryptionError);
    return (error as DecryptionError).reason;
  };

  it('wraps to 60 bytes (nonce, encrypted key, tag) that unwrap to the data key', async () => {
    const wrapped = await provider.wrap(1, dataKey, aad);
    expect(wrapped).toHaveLength(60);
    expect((await provider.unwrap(1, wrapped, aad)).equals(dataKey)).toBe(true);
  });

  it('uses a fresh nonce for every wrap', async () => {
    const [a, b] = await Promise.all([provider.wrap(2, dataKey, aad), provider.wrap(2, dataKey, aad)]);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
  });

  it('refuses other AAD, another version\'s key, a wrong length, and versions it does not hold', async () => {
    const wrapped = await provider.wrap(1, dataKey, aad);
    expect(await reasonOf(provider.unwrap(1, wrapped, Buffer.from('other')))).toBe('authentication-failed');
    expect(await reasonOf(provider.unwrap(2, wrapped, aad))).toBe('authentication-failed');
    expect(await reasonOf(provider.unwrap(1, wrapped.subarray(1), aad))).toBe('authentication-failed');
    expect(await reasonOf(provider.unwrap(3, wrapped, aad))).toBe('unknown-kek-version');
  });

  it('will not wrap under a version it does not hold, or wrap a key of the wrong size', async () => {
    await expect(provider.wrap(3, dataKey, aad)).rejects.toThrow('KEK version 3 is not in the keyring');
    await expect(provider.wrap(1, dataKey.subarray(0, 16), aad)).rejects.toThrow('a data key must be 32 bytes');
  });
});

describe('generateKeyring', () => {
  it('makes distinct random 32-byte keys in the environment form', () => {
    const value = generateKeyring(2);
    expect(value).toMatch(/^1:[A-Za-z0-9+/]{43}=,2:[A-Za-z0-9+/]{43}=$/);
    const [a, b] = value.split(',').map((entry) => entry.slice(2));
    expect(a).not.toBe(b);
    expect(LocalKekProvider.fromEnvValue(value).currentVersion()).toBe(2);
  });

  it('defaults to one version and refuses nonsense counts', () => {
    expect(LocalKekProvider.fromEnvValue(generateKeyring()).versions()).toEqual([1]);
    expect(() => generateKeyring(0)).toThrow(KeyringError);
  });
});
