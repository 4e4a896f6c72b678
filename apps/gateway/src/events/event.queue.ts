/** Where a queue's batches go (Postgres in the gateway; a fake in unit tests). */
export interface EventWriter<T> {
  write(batch: readonly T[]): Promise<void>;
}

export interface EventQueueOptions {
  /** Events held at most, queued and being written; an offer that would exceed it is refused whole. */
  capacity: number;
  /** Events per write. */
  batchSize: number;
  /** Queued events are written at least this often. */
  flushIntervalMs: number;
  /** Delay before retrying after a failed write, doubled per failure up to `maxRetryMs`. */
  initialRetryMs: number;
  maxRetryMs: number;
  /** True when a failed batch can never be written (it is dropped rather than retried). */
  isPermanent(error: unknown): boolean;
  /** Each write attempt: how it ended, how many events, and how long it took. */
  onFlush?(outcome: FlushOutcome, events: number, seconds: number, error?: unknown): void;
  /** Events `stop()` gave up on (still queued at its deadline). */
  onGiveUp?(events: number): void;
  /** The clock (tests pass their own). */
  now?: () => number;
}

/** `written`: stored; `retry`: failed, kept for a later attempt; `dropped`: refused for good (never retried). */
export type FlushOutcome = 'written' | 'retry' | 'dropped';

/** The answer to an offer: queued, or refused with how long to wait before trying again. */
export type OfferResult = { queued: true } | { queued: false; retryAfterSeconds: number; reason: 'full' | 'too-large' | 'closed' };

/**
 * A bounded in-memory queue that batches events from many requests into few writes. Writes run
 * one at a time, `batchSize` events each, when a full batch is waiting or every
 * `flushIntervalMs`. A failed write keeps its events at the head of the queue and waits (with
 * exponential backoff) before the next attempt, so a database outage fills the queue and then
 * refuses offers (backpressure) instead of losing events or growing without bound. Only a batch
 * the writer calls permanently bad is dropped.
 */
export class EventQueue<T> {
  private queue: T[] = [];
  private inFlight = 0;
  private writing: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private retryAt = 0;
  private retryDelay = 0;
  private closed = false;
  private droppedCount = 0;
  private readonly now: () => number;

  constructor(
    private readonly writer: EventWriter<T>,
    private readonly options: EventQueueOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Events held: queued plus being written. */
  get depth(): number {
    return this.queue.length + this.inFlight;
  }

  /** Events lost: permanently refused batches, and what `stop()` could not write. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Starts the flush interval. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.kick(false), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Queues all of `events`, or none of them. */
  offer(events: readonly T[]): OfferResult {
    if (this.closed) return { queued: false, retryAfterSeconds: 1, reason: 'closed' };
    if (events.length > this.options.capacity) return { queued: false, retryAfterSeconds: 1, reason: 'too-large' };
    if (this.depth + events.length > this.options.capacity) return { queued: false, retryAfterSeconds: this.retryAfterSeconds(), reason: 'full' };
    for (const e of events) this.queue.push(e);
    if (this.queue.length >= this.options.batchSize) queueMicrotask(() => this.kick(true));
    return { queued: true };
  }

  /** Writes everything queued now (after any write in progress), unless a retry delay is pending. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    this.kick(false);
    while (this.writing) await this.writing;
  }

  /**
   * Refuses further offers, stops the interval and writes what is queued, retrying failed writes
   * until `timeoutMs` has passed; whatever is still queued then is dropped (and counted).
   */
  async stop(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const deadline = this.now() + timeoutMs;
    for (;;) {
      // A write that hangs past the deadline is left to finish (or fail) on its own.
      while (this.writing && this.now() < deadline) await settled(this.writing, deadline - this.now());
      if (this.writing || !this.queue.length || this.now() >= deadline) break;
      if (this.retryAt > this.now()) {
        await settled(null, Math.min(this.retryAt, deadline) - this.now());
        continue;
      }
      this.kick(false);
    }
    if (this.queue.length) {
      const lost = this.queue.length;
      this.queue = [];
      this.droppedCount += lost;
      this.options.onGiveUp?.(lost);
    }
  }

  /** Seconds a refused client should wait: the pending retry delay, at least one second. */
  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.retryAt - this.now()) / 1000));
  }

  private kick(fullOnly: boolean): void {
    if (this.writing || !this.queue.length) return;
    if (fullOnly && this.queue.length < this.options.batchSize) return;
    if (this.now() < this.retryAt) return;
    this.writing = this.writeBatches(fullOnly).finally(() => {
      this.writing = null;
    });
  }

  private async writeBatches(fullOnly: boolean): Promise<void> {
    const { batchSize } = this.options;
    while (this.queue.length && (!fullOnly || this.queue.length >= batchSize)) {
      const batch = this.queue.slice(0, batchSize);
      this.queue = this.queue.slice(batch.length);
      this.inFlight = batch.length;
      const started = this.now();
      try {
        await this.writer.write(batch);
        this.retryDelay = 0;
        this.retryAt = 0;
        this.options.onFlush?.('written', batch.length, (this.now() - started) / 1000);
      } catch (error) {
        const seconds = (this.now() - started) / 1000;
        if (this.options.isPermanent(error)) {
          this.droppedCount += batch.length;
          this.options.onFlush?.('dropped', batch.length, seconds, error);
          continue;
        }
        // Back at the head, in order; wait before the next attempt.
        this.queue = batch.concat(this.queue);
        this.retryDelay = this.retryDelay ? Math.min(this.options.maxRetryMs, this.retryDelay * 2) : this.options.initialRetryMs;
        this.retryAt = this.now() + this.retryDelay;
        this.options.onFlush?.('retry', batch.length, seconds, error);
        return;
      } finally {
        this.inFlight = 0;
      }
    }
  }
}

/** Resolves when `work` settles or after `ms`, whichever comes first, leaving no timer behind. */
async function settled(work: Promise<void> | null, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  try {
    await (work ? Promise.race([work, elapsed]) : elapsed);
  } finally {
    clearTimeout(timer);
  }
}
