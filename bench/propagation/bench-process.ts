/*
 * What the processes of the propagation benchmark share: the wall clock they agree on, the
 * messages they exchange over IPC, and the server side of "measure yourself" requests.
 */

/**
 * Milliseconds since the epoch with sub-millisecond resolution. `performance.timeOrigin` is read
 * from the system clock when the process starts, so every process on this machine gets the same
 * clock (hrtime alone is per process).
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface CpuSample {
  /** microseconds */
  user: number;
  system: number;
}

/** When a server had a revision in hand and wrote it to its connections (wall clock). */
export interface FanoutTiming {
  revision: number;
  /** Commit time in Postgres (Flagstream only; millisecond resolution). */
  committedAt?: number;
  /** The change stream handed it over (Flagstream) / the publish request arrived (raw). */
  receivedAt: number;
  fanoutStart: number;
  fanoutEnd: number;
}

/** Requests the orchestrator sends to a server process. */
export type ServerRequest = { id: number; cmd: 'memory' } | { id: number; cmd: 'cpu' } | { id: number; cmd: 'stats' } | { id: number; cmd: 'stop' };

export type ServerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** The first message of every server process: where it listens. */
export interface ServerReady {
  type: 'ready';
  port: number;
  extra?: Record<string, unknown>;
}

/** Requests the orchestrator sends to a client process. */
export type ClientRequest =
  | { cmd: 'open'; target: ClientTarget; total: number; concurrency: number }
  | { cmd: 'clock' }
  | { cmd: 'close' };

export interface ClientTarget {
  /** Connections of one server; arrivals are counted per group. */
  group: string;
  transport: 'sse' | 'socket.io';
  /** SSE: the stream URL; socket.io: the namespace URL. */
  url: string;
  /** SDK key (Flagstream) or nothing (raw baselines). */
  key?: string;
}

/** Messages a client process sends. */
export type ClientMessage =
  | { type: 'opened'; group: string; open: number; failed: number; retries: number; revision: number; ms: number; rssBytes: number }
  | { type: 'arrivals'; group: string; revision: number; count: number; first: number; last: number; open: number }
  | { type: 'dropped'; group: string; open: number; reason: string }
  | { type: 'clock'; now: number };

/**
 * Answers the orchestrator's measurement requests in a server process (memory after two
 * forced collections, CPU time since start, anything else the server wants to report).
 */
export function serveMeasurements(stats: () => unknown, stop: () => Promise<void>): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (raw: unknown) => {
    const req = raw as ServerRequest;
    const reply = (value: unknown) => process.send?.({ id: req.id, ok: true, value } satisfies ServerReply);
    const fail = (e: unknown) => process.send?.({ id: req.id, ok: false, error: String(e) } satisfies ServerReply);
    switch (req.cmd) {
      case 'memory':
        void (async () => {
          gc?.();
          await new Promise((r) => setTimeout(r, 200));
          gc?.();
          await new Promise((r) => setTimeout(r, 100));
          const m = process.memoryUsage();
          reply({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers } satisfies MemorySample);
        })().catch(fail);
        break;
      case 'cpu': {
        const c = process.cpuUsage();
        reply({ user: c.user, system: c.system } satisfies CpuSample);
        break;
      }
      case 'stats':
        reply(stats());
        break;
      case 'stop':
        stop()
          .then(() => {
            reply(null);
            setTimeout(() => process.exit(0), 50);
          })
          .catch(fail);
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

export function ready(port: number, extra?: Record<string, unknown>): void {
  process.send?.({ type: 'ready', port, extra } satisfies ServerReady);
}
