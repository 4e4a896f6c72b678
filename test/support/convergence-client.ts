import { get as httpGet } from 'node:http';
import {
  combineStateHash,
  itemHash,
  stateHash,
  type FlagSnapshotV1,
  type PatchMessageV1,
  type SegmentSnapshotV1,
  type SnapshotMessageV1,
} from '@flagstream/protocol';

/**
 * Frames are identical for every client of an environment, so their parse and per-item hashes are
 * shared (clients never mutate them): a pure function of the bytes, computed once, keeps hundreds
 * of in-process clients from saturating the event loop the servers under test also run on.
 */
interface ParsedFrame {
  msg: SnapshotMessageV1 | PatchMessageV1;
  /** itemHash of each snapshot flag then segment, or of each upserted item of a patch, in order. */
  hashes: string[];
}
const frames = new Map<string, ParsedFrame>();

function parseFrame(event: string, data: string): ParsedFrame {
  const cached = frames.get(data);
  if (cached) return cached;
  const msg = JSON.parse(data) as SnapshotMessageV1 | PatchMessageV1;
  const hashes: string[] = [];
  if (event === 'snapshot') {
    const s = msg as SnapshotMessageV1;
    for (const f of s.flags) hashes.push(itemHash(f));
    for (const g of s.segments) hashes.push(itemHash(g));
  } else if (event === 'patch') {
    for (const c of (msg as PatchMessageV1).changes ?? []) {
      if (c.type === 'flag.upsert') hashes.push(itemHash(c.flag));
      else if (c.type === 'segment.upsert') hashes.push(itemHash(c.segment));
    }
  }
  if (frames.size > 5000) frames.clear();
  const parsed = { msg, hashes };
  frames.set(data, parsed);
  return parsed;
}

/** Something a client saw that the protocol says it must never see. */
export interface Violation {
  client: number;
  kind: 'duplicate' | 'out-of-order' | 'patch-before-snapshot' | 'snapshot-backwards' | 'hash-mismatch' | 'bad-id' | 'bad-frame';
  detail: string;
  at: number;
}

export interface SdkClientOptions {
  id: number;
  sdkKey: string;
  /** Where to connect now (e.g. whichever gateway is up): asked again before each attempt. */
  baseUrl: () => string;
  onViolation: (v: Violation) => void;
  /** Backoff after a failed or ended connection: min(maxMs, baseMs * 2^n), with full jitter. */
  backoff?: { baseMs: number; maxMs: number };
}

/**
 * A server SDK's streaming loop, as strict as the protocol allows: it reconnects with backoff,
 * resumes with `Last-Event-ID` (its last applied revision), replaces its state with a snapshot,
 * applies patches only as `revision + 1`, and checks the state hash after every snapshot and patch.
 * Anything else is recorded as a violation.
 */
export class SdkClient {
  revision: number | null = null;
  hash = '';
  readonly stats = { connects: 0, resumes: 0, snapshots: 0, patches: 0, refused: 0, failures: 0, drops: 0, violations: 0, sameRevisionSnapshots: 0 };
  /** Revision of every message applied, in order (snapshots as negative numbers: -revision-1). */
  readonly applied: number[] = [];

  private readonly flags = new Map<string, FlagSnapshotV1>();
  private readonly segments = new Map<string, SegmentSnapshotV1>();
  private readonly flagHashes = new Map<string, string>();
  private readonly segmentHashes = new Map<string, string>();
  private stopped = false;
  private abort: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private wakeBackoff: (() => void) | null = null;

  constructor(private readonly options: SdkClientOptions) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.();
    this.wakeBackoff?.();
    await this.loop;
  }

  /** Drops the current connection (as a flaky network would); the client resumes on its own. */
  drop(): void {
    this.stats.drops++;
    this.abort?.();
  }

  /** Full recomputation of the hash of what this client holds (independent of the incremental one). */
  fullHash(): string {
    return stateHash([...this.flags.values()], [...this.segments.values()]);
  }

  private violation(kind: Violation['kind'], detail: string): void {
    this.stats.violations++;
    this.options.onViolation({ client: this.options.id, kind, detail, at: Date.now() });
  }

  private async run(): Promise<void> {
    const { baseMs, maxMs } = this.options.backoff ?? { baseMs: 50, maxMs: 1000 };
    let failures = 0;
    while (!this.stopped) {
      let gotEvent = false;
      try {
        gotEvent = await this.connectOnce();
      } catch {
        // refused, reset, aborted: back off and retry
      }
      if (this.stopped) return;
      failures = gotEvent ? 0 : failures + 1;
      this.stats.failures++;
      const delay = Math.random() * Math.min(maxMs, baseMs * 2 ** Math.min(failures, 10));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wakeBackoff = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeBackoff = null;
    }
  }

  /** One connection, until it ends. Returns whether any event arrived. */
  private connectOnce(): Promise<boolean> {
    const headers: Record<string, string> = { Accept: 'text/event-stream', Authorization: `Bearer ${this.options.sdkKey}` };
    if (this.revision !== null) headers['Last-Event-ID'] = String(this.revision);
    this.stats.connects++;
    if (this.revision !== null) this.stats.resumes++;
    return new Promise<boolean>((resolve) => {
      let got = false;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.abort = null;
        req.destroy();
        resolve(got);
      };
      // node:http rather than fetch: hundreds of streams in one process, and undici's web streams
      // cost several times more per chunk.
      const req = httpGet(`${this.options.baseUrl()}/sdk/v1/stream`, { headers, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          this.stats.refused++;
          res.resume();
          res.once('end', finish);
          res.once('error', finish);
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          if (done) return;
          buffer += chunk;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let id: string | undefined;
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'id') id = value;
              else if (field === 'event') event = value;
              else if (field === 'data') data.push(value);
            }
            if (!data.length) continue;
            got = true;
            // A real SDK drops a stream it can no longer trust and starts over.
            if (!this.handle(event, id, data.join('\n'))) return finish();
          }
        });
        res.once('end', finish);
        res.once('close', finish);
        res.once('error', finish);
      });
      req.once('error', finish);
      req.once('close', () => setImmediate(finish));
      this.abort = finish;
    });
  }

  /** Applies one event; false when the stream must be dropped. */
  private handle(event: string, id: string | undefined, data: string): boolean {
    let msg: SnapshotMessageV1 | PatchMessageV1;
    let hashes: string[];
    try {
      ({ msg, hashes } = parseFrame(event, data));
    } catch {
      this.violation('bad-frame', `unparseable ${event}: ${data.slice(0, 80)}`);
      return false;
    }
    if (id !== String(msg.revision)) this.violation('bad-id', `${event} id ${id} carries revision ${msg.revision}`);
    if (event === 'snapshot') {
      const s = msg as SnapshotMessageV1;
      if (this.revision !== null && s.revision < this.revision) {
        this.violation('snapshot-backwards', `snapshot at ${s.revision} after applying ${this.revision}`);
      }
      if (this.revision === s.revision) this.stats.sameRevisionSnapshots++;
      this.flags.clear();
      this.segments.clear();
      this.flagHashes.clear();
      this.segmentHashes.clear();
      let h = 0;
      for (const f of s.flags) {
        this.flags.set(f.key, f);
        this.flagHashes.set(f.key, hashes[h++]);
      }
      for (const g of s.segments) {
        this.segments.set(g.key, g);
        this.segmentHashes.set(g.key, hashes[h++]);
      }
      this.revision = s.revision;
      this.hash = combineStateHash(this.flagHashes, this.segmentHashes);
      this.stats.snapshots++;
      this.applied.push(-s.revision - 1);
      if (this.hash !== s.stateHash) {
        this.violation('hash-mismatch', `snapshot ${s.revision}: computed ${this.hash}, sent ${s.stateHash}`);
        this.revision = null;
        return false;
      }
      return true;
    }
    if (event === 'patch') {
      const p = msg as PatchMessageV1;
      if (this.revision === null) {
        this.violation('patch-before-snapshot', `patch ${p.revision}`);
        return false;
      }
      if (p.revision <= this.revision) {
        this.violation('duplicate', `patch ${p.revision} after applying ${this.revision}`);
        return true; // ignoring it is safe
      }
      if (p.revision !== this.revision + 1) {
        this.violation('out-of-order', `patch ${p.revision} after applying ${this.revision}`);
        return false; // reconnect: resume from what we have
      }
      let h = 0;
      for (const c of p.changes) {
        if (c.type === 'flag.upsert') {
          this.flags.set(c.flag.key, c.flag);
          this.flagHashes.set(c.flag.key, hashes[h++]);
        } else if (c.type === 'flag.delete') {
          this.flags.delete(c.key);
          this.flagHashes.delete(c.key);
        } else if (c.type === 'segment.upsert') {
          this.segments.set(c.segment.key, c.segment);
          this.segmentHashes.set(c.segment.key, hashes[h++]);
        } else if (c.type === 'segment.delete') {
          this.segments.delete(c.key);
          this.segmentHashes.delete(c.key);
        }
      }
      this.revision = p.revision;
      this.hash = combineStateHash(this.flagHashes, this.segmentHashes);
      this.stats.patches++;
      this.applied.push(p.revision);
      if (this.hash !== p.stateHash) {
        this.violation('hash-mismatch', `patch ${p.revision}: computed ${this.hash}, sent ${p.stateHash}`);
        this.revision = null; // start over from a snapshot
        return false;
      }
      return true;
    }
    return true;
  }
}
