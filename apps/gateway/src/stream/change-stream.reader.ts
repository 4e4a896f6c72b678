import type { Redis } from 'ioredis';
import { changeStreamKey, type ChangeEventV1 } from '@flagstream/protocol';

export interface ChangeStreamReaderOptions {
  keyPrefix: string;
  /** How long one XREAD blocks (a new watch interrupts it at once). */
  blockMs: number;
  batchSize: number;
  onEvents: (environmentId: string, events: ChangeEventV1[]) => void;
  onError: (err: unknown) => void;
}

/**
 * Reads every watched environment's Redis stream with one blocking XREAD loop on a dedicated
 * connection, from the revision each environment was loaded at. Entry ids are `<revision>-0`,
 * so a cursor is just the last revision seen.
 */
export class ChangeStreamReader {
  private readonly cursors = new Map<string, string>();
  private running = false;
  private loop: Promise<void> | null = null;
  private clientId: number | null = null;
  private name = '';

  constructor(
    private readonly blocking: Redis,
    private readonly control: Redis,
    private readonly options: ChangeStreamReaderOptions,
  ) {}

  start(): void {
    this.running = true;
    // A name of our own, so the control connection can find this connection's id after
    // ioredis reconnects it (and silently re-sends the blocked XREAD).
    const name = `flagstream-reader-${Math.random().toString(36).slice(2, 10)}`;
    this.blocking.options.connectionName = name;
    this.name = name;
    this.blocking.on('ready', () => {
      this.clientId = null;
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.interrupt();
    await this.loop;
  }

  /** Reads the environment's stream after `revision` from now on. */
  watch(environmentId: string, revision: number): void {
    this.cursors.set(environmentId, `${revision}-0`);
    void this.interrupt();
  }

  /** Moves the cursor (after a reload from Postgres). */
  seek(environmentId: string, revision: number): void {
    if (this.cursors.has(environmentId)) this.cursors.set(environmentId, `${revision}-0`);
  }

  unwatch(environmentId: string): void {
    this.cursors.delete(environmentId);
  }

  private async interrupt(): Promise<void> {
    try {
      if (this.clientId === null) this.clientId = await this.findClientId();
      if (this.clientId !== null) await this.control.client('UNBLOCK', this.clientId);
    } catch {
      // the loop's block timeout is the fallback
    }
  }

  private async findClientId(): Promise<number | null> {
    const list = String(await this.control.client('LIST'));
    const line = list.split('\n').find((l) => l.includes(` name=${this.name} `));
    const m = line ? /(?:^|\s)id=(\d+)/.exec(line) : null;
    return m ? Number(m[1]) : null;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.clientId === null) {
          await this.blocking.client('SETNAME', this.name);
          this.clientId = Number(await this.blocking.client('ID'));
        }
        if (!this.cursors.size) {
          await sleep(50);
          continue;
        }
        const ids = [...this.cursors.keys()];
        const keys = ids.map((id) => changeStreamKey(this.options.keyPrefix, id));
        const from = ids.map((id) => this.cursors.get(id)!);
        const res = (await this.blocking.xread('COUNT', this.options.batchSize, 'BLOCK', this.options.blockMs, 'STREAMS', ...keys, ...from)) as
          | Array<[string, Array<[string, string[]]>]>
          | null;
        if (!res) continue;
        for (const [key, entries] of res) {
          const environmentId = key.slice(key.lastIndexOf(':') + 1);
          if (!this.cursors.has(environmentId) || !entries.length) continue;
          this.cursors.set(environmentId, entries[entries.length - 1][0]);
          const events: ChangeEventV1[] = [];
          for (const [, fields] of entries) {
            const i = fields.indexOf('event');
            if (i >= 0) events.push(JSON.parse(fields[i + 1]) as ChangeEventV1);
          }
          this.options.onEvents(environmentId, events);
        }
      } catch (err) {
        if (!this.running) return;
        // A reconnect resets the connection id; a CLIENT UNBLOCK surfaces as an error too.
        if (!/UNBLOCKED/.test(String(err))) {
          this.clientId = null;
          this.options.onError(err);
          await sleep(250);
        }
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
