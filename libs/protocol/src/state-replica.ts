import type { ChangeV1, SegmentSnapshotV1 } from './change-event';
import type { ConfigItemSnapshotV1 } from './config';
import type { FlagSnapshotV1 } from './flags';
import { combineStateHash, itemHash } from './state-hash';

export type ReplicaOutcome = 'applied' | 'duplicate' | 'gap';

/**
 * An environment's SDK-visible state, kept by applying a snapshot and then change batches strictly
 * in revision order, with the state hash kept current by re-hashing only what changed. The
 * gateway and the SDK both keep their state this way, so they agree on every hash.
 */
export class StateReplica {
  revision = 0;
  stateHash = combineStateHash(new Map(), new Map());
  private readonly flagMap = new Map<string, FlagSnapshotV1>();
  private readonly segmentMap = new Map<string, SegmentSnapshotV1>();
  private readonly flagHashes = new Map<string, string>();
  private readonly segmentHashes = new Map<string, string>();
  private readonly configMap = new Map<string, ConfigItemSnapshotV1>();
  private readonly configHashes = new Map<string, string>();

  /** Replaces everything with a whole state at `revision`. */
  load(revision: number, flags: readonly FlagSnapshotV1[], segments: readonly SegmentSnapshotV1[], configs: readonly ConfigItemSnapshotV1[] = []): void {
    this.flagMap.clear();
    this.segmentMap.clear();
    this.flagHashes.clear();
    this.segmentHashes.clear();
    this.configMap.clear();
    this.configHashes.clear();
    for (const c of configs) {
      this.configMap.set(c.key, c);
      this.configHashes.set(c.key, itemHash(c));
    }
    for (const f of flags) {
      this.flagMap.set(f.key, f);
      this.flagHashes.set(f.key, itemHash(f));
    }
    for (const s of segments) {
      this.segmentMap.set(s.key, s);
      this.segmentHashes.set(s.key, itemHash(s));
    }
    this.revision = revision;
    this.stateHash = combineStateHash(this.flagHashes, this.segmentHashes, this.configHashes);
  }

  /** Applies one revision's changes: only when it is the next revision. */
  apply(revision: number, changes: readonly ChangeV1[]): ReplicaOutcome {
    if (revision <= this.revision) return 'duplicate';
    if (revision !== this.revision + 1) return 'gap';
    for (const change of changes) {
      switch (change.type) {
        case 'flag.upsert':
          this.flagMap.set(change.flag.key, change.flag);
          this.flagHashes.set(change.flag.key, itemHash(change.flag));
          break;
        case 'flag.delete':
          this.flagMap.delete(change.key);
          this.flagHashes.delete(change.key);
          break;
        case 'segment.upsert':
          this.segmentMap.set(change.segment.key, change.segment);
          this.segmentHashes.set(change.segment.key, itemHash(change.segment));
          break;
        case 'segment.delete':
          this.segmentMap.delete(change.key);
          this.segmentHashes.delete(change.key);
          break;
        case 'config.upsert':
          this.configMap.set(change.config.key, change.config);
          this.configHashes.set(change.config.key, itemHash(change.config));
          break;
        case 'config.delete':
          this.configMap.delete(change.key);
          this.configHashes.delete(change.key);
          break;
      }
    }
    this.revision = revision;
    this.stateHash = combineStateHash(this.flagHashes, this.segmentHashes, this.configHashes);
    return 'applied';
  }

  flag(key: string): FlagSnapshotV1 | undefined {
    return this.flagMap.get(key);
  }

  /** Flags sorted by key. */
  flags(): FlagSnapshotV1[] {
    return [...this.flagMap.values()].sort(byKey);
  }

  config(key: string): ConfigItemSnapshotV1 | undefined {
    return this.configMap.get(key);
  }

  /** Config items sorted by key. */
  configs(): ConfigItemSnapshotV1[] {
    return [...this.configMap.values()].sort(byKey);
  }

  /** Segments sorted by key. */
  segments(): SegmentSnapshotV1[] {
    return [...this.segmentMap.values()].sort(byKey);
  }
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
