import { TooManyConnectionsError } from './too-many-connections.error';

/** An open stream (SSE response or socket) that can be closed from outside. */
export interface Connection {
  readonly keyId: string;
  readonly transport: 'sse' | 'socket.io';
  close(reason: string): void;
}

/**
 * Every open stream of this gateway, by SDK key: enforces the per-key connection limit and
 * closes the streams of revoked keys.
 */
export class ConnectionRegistry {
  private readonly byKey = new Map<string, Set<Connection>>();

  constructor(private readonly maxPerKey: number) {}

  /** Throws 429 when the key has no room for another stream (call before answering 200). */
  assertCapacity(keyId: string): void {
    if ((this.byKey.get(keyId)?.size ?? 0) >= this.maxPerKey) throw new TooManyConnectionsError(this.maxPerKey);
  }

  add(connection: Connection): () => void {
    let set = this.byKey.get(connection.keyId);
    if (!set) {
      set = new Set();
      this.byKey.set(connection.keyId, set);
    }
    if (set.size >= this.maxPerKey) throw new TooManyConnectionsError(this.maxPerKey);
    set.add(connection);
    return () => {
      set.delete(connection);
      if (!set.size && this.byKey.get(connection.keyId) === set) this.byKey.delete(connection.keyId);
    };
  }

  keyIds(): string[] {
    return [...this.byKey.keys()];
  }

  count(transport?: Connection['transport']): number {
    let n = 0;
    for (const set of this.byKey.values()) for (const c of set) if (!transport || c.transport === transport) n++;
    return n;
  }

  closeKeys(keyIds: readonly string[], reason: string): number {
    let closed = 0;
    for (const id of keyIds) {
      for (const c of [...(this.byKey.get(id) ?? [])]) {
        c.close(reason);
        closed++;
      }
      this.byKey.delete(id);
    }
    return closed;
  }
}
