import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { stateHash, type FlagSnapshotV1, type SnapshotMessageV1 } from '@flagstream/protocol';
import { FakeTransport } from '../fake.transport';
import { FlagstreamClient } from '../flagstream-client';
import { FileSnapshotCache, SnapshotCacheError } from './file-snapshot-cache';

function flag(key: string, on: boolean, version = 1): FlagSnapshotV1 {
  return {
    key,
    kind: 'boolean',
    variations: [
      { key: 'on', value: true },
      { key: 'off', value: false },
    ],
    clientVisible: false,
    settings: { on, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'on' }, salt: key },
    version,
  };
}

function snapshot(revision: number, flags: FlagSnapshotV1[]): SnapshotMessageV1 {
  return { v: 1, environment: 'staging', revision, stateHash: stateHash(flags, []), flags, segments: [] };
}

describe('FileSnapshotCache', () => {
  let dir: string;
  let path: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flagstream-cache-'));
    path = join(dir, 'nested', 'snapshot.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function load(cache = new FileSnapshotCache(path)): Promise<{ snapshot: SnapshotMessageV1 | null; errors: Error[] }> {
    const errors: Error[] = [];
    const loaded = await cache.load((e) => errors.push(e));
    return { snapshot: loaded, errors };
  }

  it('returns null without an error when the file does not exist', async () => {
    expect(await load()).toEqual({ snapshot: null, errors: [] });
  });

  it('saves a snapshot as canonical JSON (creating the directory, mode 0600) and loads it back', async () => {
    const cache = new FileSnapshotCache(path);
    const s = snapshot(4, [flag('a', true), flag('b', false)]);
    await cache.save(s);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // The gateway's frame, byte for byte: keys in RFC 8785 order, whatever order the objects had.
    expect(await readFile(path, 'utf8')).toBe(canonicalize(s));
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(s);
    expect(await load()).toEqual({ snapshot: s, errors: [] });
    expect(await readdir(join(dir, 'nested'))).toEqual(['snapshot.json']);
  });

  it.each([
    ['not JSON', '{"v":1,"revis', 'is corrupt (not JSON)'],
    ['not an object', '[1,2]', 'is corrupt (not a snapshot object)'],
    ['another version', JSON.stringify({ ...snapshot(1, []), v: 2 }), 'has version 2, expected 1'],
    ['no revision', JSON.stringify({ ...snapshot(1, []), revision: 'x' }), 'is corrupt (no valid revision)'],
    ['flags not a list', JSON.stringify({ ...snapshot(1, []), flags: {} }), 'is corrupt (flags are not a list of flags)'],
    ['a flag without a key', JSON.stringify({ ...snapshot(1, []), flags: [{ kind: 'boolean' }] }), 'is corrupt (flags are not a list of flags)'],
    ['configs not a list', JSON.stringify({ ...snapshot(1, []), configs: [1] }), 'is corrupt (configs are not a list of config items)'],
  ])('returns null and reports a file that is %s', async (_name, text, problem) => {
    await mkdir(join(dir, 'nested'));
    await writeFile(path, text);
    const { snapshot: loaded, errors } = await load();
    expect(loaded).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SnapshotCacheError);
    expect(errors[0].message).toBe(`snapshot cache ${path} ${problem}; ignoring it`);
  });

  it('checks the shape only: a file whose contents do not match its state hash loads (the client refuses it)', async () => {
    const s = snapshot(3, [flag('a', true)]);
    const tampered = { ...s, flags: [flag('a', false)] };
    await mkdir(join(dir, 'nested'));
    await writeFile(path, JSON.stringify(tampered));
    expect(await load()).toEqual({ snapshot: tampered, errors: [] });
  });

  describe('with a client', () => {
    let client: FlagstreamClient | undefined;
    afterEach(async () => {
      await client?.close();
      client = undefined;
    });

    it('never serves a cache file whose contents do not match its state hash, and reports it with the path', async () => {
      const s = snapshot(3, [flag('a', true)]);
      const tampered = { ...s, flags: [flag('a', false)] };
      await mkdir(join(dir, 'nested'));
      await writeFile(path, JSON.stringify(tampered));
      const transport = new FakeTransport();
      client = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'http://x', transport, cache: new FileSnapshotCache(path), acknowledge: false });
      const errors: Array<[Error, boolean]> = [];
      client.on('error', (e, fatal) => errors.push([e, fatal]));
      const ready = client.ready(2000);
      const c = await transport.connection(0);
      // No state was taken from the file: the stream starts from scratch, getters answer defaults.
      expect(c.lastEventId).toBeUndefined();
      expect(client.isReady).toBe(false);
      expect(client.booleanDetail('a', {}, true)).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' });
      expect(errors).toHaveLength(1);
      const [error, fatal] = errors[0]!;
      expect(fatal).toBe(false);
      expect(error).toBeInstanceOf(SnapshotCacheError);
      expect((error as SnapshotCacheError).path).toBe(path);
      expect(error.message).toBe(
        `snapshot cache ${path} does not match its state hash (it says ${s.stateHash}, its contents hash to ${stateHash(tampered.flags, [])}); ignoring it`,
      );
      // The gateway's snapshot is served, and replaces the file.
      c.send('snapshot', 4, snapshot(4, [flag('a', true, 2)]));
      await ready;
      expect(client.boolean('a', {}, false)).toBe(true);
      await client.close();
      expect((await load()).snapshot?.revision).toBe(4);
    });

    it('serves a good cache file before the stream opens', async () => {
      await new FileSnapshotCache(path).save(snapshot(5, [flag('a', false)]));
      const transport = new FakeTransport();
      client = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'http://x', transport, cache: new FileSnapshotCache(path), acknowledge: false });
      await client.ready(2000);
      expect(client.booleanDetail('a', {}, true)).toEqual({ value: false, variation: 'off', reason: 'DISABLED' });
      // The stream opens in a later macrotask, after the caller's promise chains.
      for (let i = 0; i < 50; i++) await Promise.resolve();
      expect(transport.connections).toHaveLength(0);
      expect((await transport.connection(0)).lastEventId).toBe('5');
    });
  });

  it('returns null and reports a path it cannot read', async () => {
    await mkdir(path, { recursive: true });
    const { snapshot: loaded, errors } = await load();
    expect(loaded).toBeNull();
    expect(errors.map((e) => e.message)).toEqual([`snapshot cache ${path} is unreadable (EISDIR: illegal operation on a directory, read); ignoring it`]);
  });

  it('leaves the previous file intact, and no temporary file, when a write fails', async () => {
    const cache = new FileSnapshotCache(path);
    const good = snapshot(1, [flag('a', true)]);
    await cache.save(good);
    const before = await readFile(path, 'utf8');
    // A value JSON cannot encode fails the write after the temporary file was created.
    const bad = { ...snapshot(2, [flag('a', false)]), flags: [{ ...flag('a', false), variations: [{ key: 'on', value: BigInt(1) }] }] } as unknown as SnapshotMessageV1;
    await expect(cache.save(bad)).rejects.toThrow('BigInt');
    expect(await readFile(path, 'utf8')).toBe(before);
    expect(await readdir(join(dir, 'nested'))).toEqual(['snapshot.json']);
    // The cache still works afterwards.
    const next = snapshot(3, [flag('a', false, 2)]);
    await cache.save(next);
    expect((await load()).snapshot).toEqual(next);
  });

  it('serialises concurrent saves: the newest wins, and a reader never sees a partial file', async () => {
    const cache = new FileSnapshotCache(path);
    await cache.save(snapshot(0, []));
    const big = (n: number) => snapshot(n, Array.from({ length: 200 }, (_, i) => flag(`flag-${String(i).padStart(3, '0')}`, (i + n) % 2 === 0, n + 1)));
    const saves = Array.from({ length: 20 }, (_, i) => cache.save(big(i + 1)));
    const reads: Array<number | null> = [];
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const { snapshot: s, errors } = await load();
        expect(errors).toEqual([]);
        reads.push(s?.revision ?? null);
        // load() reads synchronously: let the writes progress between reads.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all(saves);
    writing = false;
    await reader;
    expect(reads.length).toBeGreaterThan(0);
    expect(reads).not.toContain(null);
    // Revisions only move forward for a reader.
    expect([...reads].sort((a, b) => a! - b!)).toEqual(reads);
    expect((await load()).snapshot).toEqual(big(20));
    expect(await readdir(join(dir, 'nested'))).toEqual(['snapshot.json']);
  });

  it('keeps the file whole when two caches (say two processes) save to it at once', async () => {
    const a = new FileSnapshotCache(path);
    const b = new FileSnapshotCache(path);
    const sa = snapshot(5, Array.from({ length: 300 }, (_, i) => flag(`a${i}`, true)));
    const sb = snapshot(6, Array.from({ length: 300 }, (_, i) => flag(`b${i}`, false)));
    await Promise.all([a.save(sa), b.save(sb), a.save(sa), b.save(sb)]);
    const { snapshot: loaded, errors } = await load();
    expect(errors).toEqual([]);
    expect([sa, sb]).toContainEqual(loaded);
    expect(await readdir(join(dir, 'nested'))).toEqual(['snapshot.json']);
  });
});
