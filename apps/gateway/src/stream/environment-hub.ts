import { compileConfigSnapshot, type CompiledConfigSnapshot } from '@flagstream/config';
import { SDK_STREAM_VERSION, StateReplica, type ChangeEventV1, type FlagSnapshotV1, type PatchMessageV1, type SnapshotMessageV1 } from '@flagstream/protocol';
import canonicalize from 'canonicalize';
import { compile, type EnvironmentEvaluator } from '@flagstream/targeting';
import type { EnvironmentState } from '@flagstream/persistence';

/** A revision as it was published to this gateway's clients: serialised once, sent to all. */
export interface PublishedPatch {
  revision: number;
  message: PatchMessageV1;
  /** The SSE frame (`id`, `event: patch`, `data`), encoded once per environment. */
  sse: Uint8Array;
  /** Flags whose definition changed (upserted or deleted). */
  changedFlags: ReadonlySet<string>;
  removedFlags: readonly string[];
  segmentsChanged: boolean;
  /** Commit time of the change, for propagation latency. */
  committedAt: number;
}

/** Something that receives an environment's changes: an SSE response, a socket, a test probe. */
export interface HubSubscriber {
  readonly keyId: string;
  /** How many SDKs this subscriber stands for (default 1). */
  readonly size?: number;
  onPatch(patch: PublishedPatch): void;
  /** The hub lost continuity (a gap, a reload): the subscriber must be sent a fresh snapshot. */
  onReset(): void;
  close(reason: string): void;
}

export type ApplyOutcome = 'applied' | 'duplicate' | 'gap';

export function sseFrame(event: string, id: number | null, data: unknown): string {
  return `${id === null ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * One environment's live state on this gateway: applies change events strictly in revision
 * order, keeps the state hash current (re-hashing only what changed), remembers the last
 * `backlogSize` patches for resuming clients, and fans each patch out to its subscribers.
 */
export class EnvironmentHub {
  readonly environmentId: string;
  readonly project: string;
  environment: string;
  readonly subscribers = new Set<HubSubscriber>();

  private readonly state = new StateReplica();
  private backlog: PublishedPatch[] = [];
  private snapshotCache: { revision: number; message: SnapshotMessageV1; sse: Uint8Array } | null = null;
  private compiled: EnvironmentEvaluator | null = null;
  private compiledConfigs: { revision: number; items: Map<string, CompiledConfigSnapshot> } | null = null;

  constructor(
    state: EnvironmentState,
    private readonly backlogSize: number,
  ) {
    this.environmentId = state.environmentId;
    this.project = state.project;
    this.environment = state.environment;
    this.load(state);
  }

  get revision(): number {
    return this.state.revision;
  }

  get stateHash(): string {
    return this.state.stateHash;
  }

  /** Replaces the whole state (first load, or a reload after a gap) and resets subscribers. */
  reset(state: EnvironmentState): void {
    const continuous = state.revision === this.revision;
    this.load(state);
    if (!continuous) {
      this.backlog = [];
      for (const s of [...this.subscribers]) s.onReset();
    }
  }

  /** Applies one change event. A gap means events were missed: the caller reloads. */
  apply(event: ChangeEventV1): ApplyOutcome {
    const outcome = this.state.apply(event.revision, event.changes);
    if (outcome !== 'applied') return outcome;
    const changedFlags = new Set<string>();
    const removedFlags: string[] = [];
    let segmentsChanged = false;
    for (const change of event.changes) {
      if (change.type === 'flag.upsert') changedFlags.add(change.flag.key);
      else if (change.type === 'flag.delete') {
        changedFlags.add(change.key);
        removedFlags.push(change.key);
      } else if (change.type === 'segment.upsert' || change.type === 'segment.delete') segmentsChanged = true;
    }
    this.environment = event.environment;
    if (this.compiled) {
      this.compiled = this.compiled.apply({
        revision: event.revision,
        flags: event.changes.flatMap((c) => (c.type === 'flag.upsert' ? [c.flag] : [])),
        removedFlags,
        segments: event.changes.flatMap((c) => (c.type === 'segment.upsert' ? [c.segment] : [])),
        removedSegments: event.changes.flatMap((c) => (c.type === 'segment.delete' ? [c.key] : [])),
      });
    }
    const message: PatchMessageV1 = { v: SDK_STREAM_VERSION, revision: event.revision, stateHash: this.stateHash, occurredAt: event.occurredAt, changes: event.changes };
    const patch: PublishedPatch = {
      revision: event.revision,
      message,
      sse: Buffer.from(sseFrame('patch', event.revision, message)),
      changedFlags,
      removedFlags,
      segmentsChanged,
      committedAt: Date.parse(event.occurredAt),
    };
    this.backlog.push(patch);
    if (this.backlog.length > this.backlogSize) this.backlog.splice(0, this.backlog.length - this.backlogSize);
    for (const s of [...this.subscribers]) s.onPatch(patch);
    return 'applied';
  }

  /** The current snapshot, serialised once per revision. */
  snapshot(): { message: SnapshotMessageV1; sse: Uint8Array } {
    if (this.snapshotCache?.revision !== this.revision) {
      const message: SnapshotMessageV1 = {
        v: SDK_STREAM_VERSION,
        environment: this.environment,
        revision: this.revision,
        stateHash: this.stateHash,
        flags: this.state.flags(),
        segments: this.state.segments(),
        configs: this.state.configs(),
      };
      // Canonical JSON: every gateway sends byte-identical snapshots, however it got the state.
      this.snapshotCache = { revision: this.revision, message, sse: Buffer.from(`id: ${this.revision}\nevent: snapshot\ndata: ${canonicalize(message)}\n\n`) };
    }
    return this.snapshotCache;
  }

  /**
   * The patches after `revision`, for a resuming client; null when they are no longer kept (or
   * `revision` is not one this environment has had), so the client needs a snapshot.
   */
  since(revision: number): PublishedPatch[] | null {
    if (!Number.isSafeInteger(revision) || revision < 0 || revision > this.revision) return null;
    if (revision === this.revision) return [];
    const first = this.backlog[0];
    if (!first || first.revision > revision + 1) return null;
    return this.backlog.slice(revision + 1 - first.revision);
  }

  /** The compiled evaluator of the current state (compiled on first use, then patched). */
  evaluator(): EnvironmentEvaluator {
    if (!this.compiled || this.compiled.revision !== this.revision) {
      this.compiled = compile({ environment: this.environment, revision: this.revision, flags: this.state.flags(), segments: this.state.segments() });
    }
    return this.compiled;
  }

  /** Config items compiled for evaluation (on first use per revision). */
  configs(): ReadonlyMap<string, CompiledConfigSnapshot> {
    if (this.compiledConfigs?.revision !== this.revision) {
      const segments = this.state.segments();
      this.compiledConfigs = { revision: this.revision, items: new Map(this.state.configs().map((c) => [c.key, compileConfigSnapshot(c, segments)])) };
    }
    return this.compiledConfigs.items;
  }

  /** Commit time of a recent revision (for acknowledgement latency), if still kept. */
  committedAt(revision: number): number | undefined {
    const first = this.backlog[0];
    if (!first) return undefined;
    return this.backlog[revision - first.revision]?.committedAt;
  }

  /** How many SDKs this hub reaches (a socket.io room counts its sockets). */
  reach(): number {
    let n = 0;
    for (const s of this.subscribers) n += s.size ?? 1;
    return n;
  }

  flag(key: string): FlagSnapshotV1 | undefined {
    return this.state.flag(key);
  }

  private load(state: EnvironmentState): void {
    this.state.load(state.revision, state.flags, state.segments, state.configs);
    this.environment = state.environment;
    this.compiled = null;
    this.compiledConfigs = null;
    this.snapshotCache = null;
  }
}

