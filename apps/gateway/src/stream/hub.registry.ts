import type { ChangeEventV1 } from '@flagstream/protocol';
import type { Store } from '@flagstream/persistence';
import { EnvironmentHub } from './environment-hub';
import type { ChangeStreamReader } from './change-stream.reader';

export interface HubRegistryOptions {
  backlogSize: number;
  onApplied?: (hub: EnvironmentHub, event: ChangeEventV1) => void;
  onError?: (err: unknown, environmentId: string) => void;
}

/**
 * The environments this gateway serves. An environment is loaded from Postgres when its first
 * client arrives, then kept current from its Redis stream; a gap, a Redis reconnect or the
 * periodic revision check reloads it. Work on one environment is serialised.
 */
export class HubRegistry {
  private readonly hubs = new Map<string, EnvironmentHub>();
  private readonly loading = new Map<string, Promise<EnvironmentHub>>();
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly reader: ChangeStreamReader,
    private readonly options: HubRegistryOptions,
  ) {}

  get(environmentId: string): EnvironmentHub | undefined {
    return this.hubs.get(environmentId);
  }

  all(): EnvironmentHub[] {
    return [...this.hubs.values()];
  }

  /** The environment's hub, loading it on first use (concurrent callers share one load). */
  acquire(environmentId: string): Promise<EnvironmentHub> {
    const hub = this.hubs.get(environmentId);
    if (hub) return Promise.resolve(hub);
    let pending = this.loading.get(environmentId);
    if (!pending) {
      pending = this.load(environmentId).finally(() => this.loading.delete(environmentId));
      this.loading.set(environmentId, pending);
    }
    return pending;
  }

  /** Events from the stream reader, applied in order; a gap reloads from Postgres. */
  deliver(environmentId: string, events: ChangeEventV1[]): void {
    this.enqueue(environmentId, async () => {
      const hub = this.hubs.get(environmentId);
      if (!hub) return;
      for (const event of events) {
        let outcome = hub.apply(event);
        if (outcome === 'gap') {
          await this.reloadNow(hub);
          outcome = hub.apply(event);
        }
        if (outcome === 'applied') this.options.onApplied?.(hub, event);
      }
    });
  }

  /**
   * Makes sure the hub has reached `revision` when Postgres has: a client resuming from a
   * revision that another gateway already served must not be sent an older state.
   */
  async catchUp(hub: EnvironmentHub, revision: number): Promise<void> {
    if (revision <= hub.revision) return;
    const current = (await this.store.read.snapshots.revisions([hub.environmentId])).get(hub.environmentId);
    if (current === undefined || current < revision) return; // a revision nobody has: the client gets a snapshot
    this.enqueue(hub.environmentId, () => this.reloadNow(hub));
    await this.queues.get(hub.environmentId);
  }

  /** Reloads every environment that Postgres says is ahead of this gateway (or all of them). */
  async resync(all = false): Promise<void> {
    const ids = [...this.hubs.keys()];
    if (!ids.length) return;
    const revisions = await this.store.read.snapshots.revisions(ids);
    for (const id of ids) {
      const hub = this.hubs.get(id)!;
      const current = revisions.get(id);
      if (all || current === undefined || current > hub.revision) this.enqueue(id, () => this.reloadNow(hub));
    }
    await Promise.all(ids.map((id) => this.queues.get(id)));
  }

  private async load(environmentId: string): Promise<EnvironmentHub> {
    const state = await this.store.snapshot((tx) => tx.snapshots.load(environmentId));
    if (!state) throw new Error(`environment ${environmentId} does not exist`);
    const hub = new EnvironmentHub(state, this.options.backlogSize);
    this.hubs.set(environmentId, hub);
    this.reader.watch(environmentId, hub.revision);
    return hub;
  }

  private async reloadNow(hub: EnvironmentHub): Promise<void> {
    const state = await this.store.snapshot((tx) => tx.snapshots.load(hub.environmentId));
    if (!state) {
      for (const s of [...hub.subscribers]) s.close('environment deleted');
      this.hubs.delete(hub.environmentId);
      this.reader.unwatch(hub.environmentId);
      return;
    }
    if (state.revision < hub.revision) return; // never go back in time
    hub.reset(state);
    this.reader.seek(hub.environmentId, Math.max(state.revision, 0));
  }

  private enqueue(environmentId: string, work: () => Promise<void>): void {
    const prev = this.queues.get(environmentId) ?? Promise.resolve();
    const next = prev.then(work).catch((err: unknown) => this.options.onError?.(err, environmentId));
    this.queues.set(environmentId, next);
  }
}
