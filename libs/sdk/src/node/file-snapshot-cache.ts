import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SDK_STREAM_VERSION, canonicalJson, type SnapshotMessageV1 } from '@flagstream/protocol';
import { SnapshotCacheError, type SnapshotCache } from '../flagstream-client';

// Defined with the client, which raises it too (a cache whose contents do not match its state hash).
export { SnapshotCacheError };

/**
 * Keeps the last good snapshot in a file (Node), for offline start: a client given
 * `cache: new FileSnapshotCache(path)` loads it before the network answers and keeps it current.
 *
 * - The file holds a `SnapshotMessageV1` as canonical JSON (RFC 8785), the same text the gateway
 *   streams, so a snapshot saved by hand (or by another process) works as a cache or a bootstrap,
 *   and the client's state hash check at the next start takes its fast path (items already in
 *   canonical key order are serialised natively).
 * - `load()` returns `null` when the file is missing; when it is unreadable, not JSON, of another
 *   version, or not shaped like a snapshot, it returns `null` and reports a `SnapshotCacheError`
 *   (the client emits it as a non-fatal `error`). It does not hash the contents: the client checks
 *   every snapshot it loads against its `stateHash` before serving anything from it (and ignores
 *   one that does not match, with a `SnapshotCacheError`), so the work is done once.
 * - `save()` is atomic: it writes a temporary file (mode 0600: flags may be sensitive) in the same
 *   directory, fsyncs it, and renames it over the cache file, so a reader sees the old file or the
 *   new one, never half of one. Saves are serialised, and saves requested while one is being
 *   written collapse into one write of the newest snapshot.
 */
export class FileSnapshotCache implements SnapshotCache {
  /** The end of the last write (settled either way): writes never interleave. */
  private last: Promise<void> = Promise.resolve();
  /** A save not started yet. */
  private waiting: { snapshot: SnapshotMessageV1; done: Promise<void> } | null = null;

  /** @param path the cache file; its directory is created on the first save. */
  constructor(readonly path: string) {}

  /**
   * The cached snapshot, or `null` (missing or unusable file). Checks its shape, not its state
   * hash: `FlagstreamClient` verifies that before serving it.
   *
   * The file is read synchronously: it is read once, at start, and on a fresh process an
   * asynchronous read costs milliseconds more than the read itself (it starts libuv's thread pool
   * and the promise-based file machinery), which is most of a cold start from a small cache.
   * @param report receives the reason a present file was not usable.
   */
  async load(report?: (error: Error) => void): Promise<SnapshotMessageV1 | null> {
    const fail = (message: string): null => {
      report?.(new SnapshotCacheError(this.path, `snapshot cache ${this.path} ${message}; ignoring it`));
      return null;
    };
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return fail(`is unreadable (${(e as Error).message})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return fail('is corrupt (not JSON)');
    }
    if (!isObject(parsed)) return fail('is corrupt (not a snapshot object)');
    if (parsed.v !== SDK_STREAM_VERSION) return fail(`has version ${JSON.stringify(parsed.v)}, expected ${SDK_STREAM_VERSION}`);
    const shape = snapshotShapeProblem(parsed);
    if (shape) return fail(`is corrupt (${shape})`);
    return parsed as unknown as SnapshotMessageV1;
  }

  /** Replaces the file with `snapshot`, atomically; resolves once it is durable on disk. */
  save(snapshot: SnapshotMessageV1): Promise<void> {
    // A save waiting behind the current write takes the newest snapshot: one write, not many.
    const waiting = this.waiting;
    if (waiting) {
      waiting.snapshot = snapshot;
      return waiting.done;
    }
    const entry: { snapshot: SnapshotMessageV1; done: Promise<void> } = { snapshot, done: Promise.resolve() };
    entry.done = this.last.then(() => {
      if (this.waiting === entry) this.waiting = null;
      return this.write(entry.snapshot);
    });
    this.waiting = entry;
    this.last = entry.done.catch(() => undefined);
    return entry.done;
  }

  private async write(snapshot: SnapshotMessageV1): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    let renamed = false;
    try {
      const file = await open(temp, 'wx', 0o600);
      try {
        await file.writeFile(canonicalJson(snapshot) ?? 'null', 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
      renamed = true;
      await syncDirectory(dir);
    } finally {
      if (!renamed) await unlink(temp).catch(() => undefined);
    }
  }
}

/** Makes the rename durable; not every platform can open a directory, which is fine. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function snapshotShapeProblem(s: Record<string, unknown>): string | null {
  if (typeof s.environment !== 'string') return 'no environment';
  if (typeof s.revision !== 'number' || !Number.isSafeInteger(s.revision) || s.revision < 0) return 'no valid revision';
  if (typeof s.stateHash !== 'string') return 'no state hash';
  if (!Array.isArray(s.flags) || !s.flags.every((f) => isObject(f) && typeof f.key === 'string')) return 'flags are not a list of flags';
  if (!Array.isArray(s.segments) || !s.segments.every((g) => isObject(g) && typeof g.key === 'string')) return 'segments are not a list of segments';
  if (s.configs !== undefined && (!Array.isArray(s.configs) || !s.configs.every((c) => isObject(c) && typeof c.key === 'string'))) return 'configs are not a list of config items';
  return null;
}
