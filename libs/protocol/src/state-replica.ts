import type { ChangeV1, SegmentSnapshotV1 } from './change-event';
import type { ConfigItemSnapshotV1 } from './config';
import type { FlagSnapshotV1 } from './flags';
import { EMPTY_STATE_HASH, combineStateHash, itemHash, sha256Hex } from './state-hash';

export type ReplicaOutcome = 'applied' | 'duplicate' | 'gap';

/**
 * An environment's SDK-visible state, kept by applying a snapshot and then change batches strictly
 * in revision order, with the state hash kept current by re-hashing only what changed. The
 * gateway and the SDK both keep their state this way, so they agree on every hash.
 */
export class StateReplica {
  revision = 0;
  stateHash = EMPTY_STATE_HASH;
  private readonly flagMap = new Map<string, FlagSnapshotV1>();
  private readonly segmentMap = new Map<string, SegmentSnapshotV1>();
  private readonly flagHashMap = new Map<string, string>();
  private readonly segmentHashMap = new Map<string, string>();
  private readonly configMap = new Map<string, ConfigItemSnapshotV1>();
  private readonly configHashMap = new Map<string, string>();

  /** Replaces everything with a whole state at `revision`. */
  load(revision: number, flags: readonly FlagSnapshotV1[], segments: readonly SegmentSnapshotV1[], configs: readonly ConfigItemSnapshotV1[] = []): void {
    this.fill(revision, flags, segments, configs, itemHash);
  }

  /**
   * Replaces everything with a whole state that claims the state hash `expected` (a snapshot
   * parsed from JSON text: the gateway's stream, a cache file) and tells whether it has exactly
   * that hash. Afterwards `stateHash` and every item hash are exact either way.
   *
   * Items are first hashed from their native serialisation (`JSON.stringify`), which is their
   * canonical JSON when the sender wrote canonical JSON, as the gateway and `FileSnapshotCache`
   * do. A match then proves the state: by the collision resistance of SHA-256 every item's text
   * is the canonical text the hash commits to. Otherwise (keys in another order, or another
   * state) the items are canonicalised and hashed again, and that decides. Only for plain JSON
   * data (what `JSON.parse` returns), whose native serialisation represents it faithfully.
   */
  loadChecked(
    revision: number,
    flags: readonly FlagSnapshotV1[],
    segments: readonly SegmentSnapshotV1[],
    configs: readonly ConfigItemSnapshotV1[],
    expected: string,
  ): boolean {
    this.fill(revision, flags, segments, configs, nativeItemHash);
    if (this.stateHash === expected) return true;
    this.fill(revision, flags, segments, configs, itemHash);
    return this.stateHash === expected;
  }

  private fill(
    revision: number,
    flags: readonly FlagSnapshotV1[],
    segments: readonly SegmentSnapshotV1[],
    configs: readonly ConfigItemSnapshotV1[],
    hash: (item: FlagSnapshotV1 | SegmentSnapshotV1 | ConfigItemSnapshotV1) => string,
  ): void {
    this.flagMap.clear();
    this.segmentMap.clear();
    this.flagHashMap.clear();
    this.segmentHashMap.clear();
    this.configMap.clear();
    this.configHashMap.clear();
    for (const c of configs) {
      this.configMap.set(c.key, c);
      this.configHashMap.set(c.key, hash(c));
    }
    for (const f of flags) {
      this.flagMap.set(f.key, f);
      this.flagHashMap.set(f.key, hash(f));
    }
    for (const s of segments) {
      this.segmentMap.set(s.key, s);
      this.segmentHashMap.set(s.key, hash(s));
    }
    this.revision = revision;
    this.stateHash = combineStateHash(this.flagHashMap, this.segmentHashMap, this.configHashMap);
  }

  /** Applies one revision's changes: only when it is the next revision. */
  apply(revision: number, changes: readonly ChangeV1[]): ReplicaOutcome {
    if (revision <= this.revision) return 'duplicate';
    if (revision !== this.revision + 1) return 'gap';
    for (const change of changes) {
      switch (change.type) {
        case 'flag.upsert':
          this.flagMap.set(change.flag.key, change.flag);
          this.flagHashMap.set(change.flag.key, itemHash(change.flag));
          break;
        case 'flag.delete':
          this.flagMap.delete(change.key);
          this.flagHashMap.delete(change.key);
          break;
        case 'segment.upsert':
          this.segmentMap.set(change.segment.key, change.segment);
          this.segmentHashMap.set(change.segment.key, itemHash(change.segment));
          break;
        case 'segment.delete':
          this.segmentMap.delete(change.key);
          this.segmentHashMap.delete(change.key);
          break;
        case 'config.upsert':
          this.configMap.set(change.config.key, change.config);
          this.configHashMap.set(change.config.key, itemHash(change.config));
          break;
        case 'config.delete':
          this.configMap.delete(change.key);
          this.configHashMap.delete(change.key);
          break;
        case 'secret.changed':
          // A notice for SDKs that read secrets (they fetch them over HTTPS); no state here.
          break;
      }
    }
    this.revision = revision;
    this.stateHash = combineStateHash(this.flagHashMap, this.segmentHashMap, this.configHashMap);
    return 'applied';
  }

  /** Item hashes (`itemHash`) of the flags held, by key: what changed between two states, without hashing again. */
  get flagHashes(): ReadonlyMap<string, string> {
    return this.flagHashMap;
  }

  /** Item hashes of the segments held, by key. */
  get segmentHashes(): ReadonlyMap<string, string> {
    return this.segmentHashMap;
  }

  /** Item hashes of the config items held, by key. */
  get configHashes(): ReadonlyMap<string, string> {
    return this.configHashMap;
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

/** SHA-256 of the item's native serialisation: its item hash when that is its canonical JSON. */
function nativeItemHash(item: FlagSnapshotV1 | SegmentSnapshotV1 | ConfigItemSnapshotV1): string {
  return sha256Hex(JSON.stringify(item) ?? 'null');
}
