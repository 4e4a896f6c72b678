import type { EvaluationReason } from '@flagstream/protocol';

/** One evaluation of an existing flag by a getter: which variation a context was served, and why. */
export interface ExposureEvent {
  /** The flag's key. */
  flag: string;
  /** The variation served. */
  variation?: string;
  /** The context's `targetingKey`, when it has one (a string). */
  contextKey?: string;
  /** Why this variation was served (never `ERROR`: errors are not exposures). */
  reason: EvaluationReason;
  /** The rule that matched, for rule matches. */
  ruleId?: string;
  /** When the getter ran, in milliseconds since the Unix epoch. */
  timestamp: number;
  /**
   * The experiment this evaluation put the context into (the result's `experiment`); absent when
   * the context is in none, including units served from an untracked slice (outside coverage).
   */
  experiment?: string;
  /**
   * With `experiment`, when the experiment's unit is an attribute other than `targetingKey` (the
   * result's `experimentUnit`, e.g. `tenant.id`): that attribute's value in the context, a string
   * as is or a finite number as its decimal string. Absent otherwise (the unit is `contextKey`).
   */
  unit?: string;
}

/** The `exposures` option of `FlagstreamClient`: where evaluations are reported, and how they are batched. */
export interface ExposureOptions {
  /**
   * Receives each batch, oldest event first. Called at most once at a time; a rejection (or throw)
   * drops the batch (no retry) and is reported as a non-fatal `error` event.
   */
  send(batch: ExposureEvent[]): Promise<void> | void;
  /** A batch is sent as soon as this many events are queued. Default 100. */
  batchSize?: number;
  /** Queued events are sent at least this often. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Events waiting to be sent beyond which new ones are dropped (and counted). Default 10,000. */
  maxQueue?: number;
  /** How long `close()` waits for the last batches. Default 2000 ms. */
  closeTimeoutMs?: number;
}

/**
 * Batches exposure events for a user-supplied sink. `record` is O(1) and never throws or awaits:
 * it pushes onto a bounded queue, and sending happens later (a microtask once a batch is full, or
 * the flush interval). One batch is in flight at a time, so a slow sink fills the queue and the
 * overflow is dropped rather than buffered without bound.
 */
export class ExposureReporter {
  private queue: ExposureEvent[] = [];
  private droppedCount = 0;
  private sending: Promise<void> | null = null;
  private scheduled = false;
  private closed = false;
  private readonly batchSize: number;
  private readonly maxQueue: number;
  private readonly timer: ReturnType<typeof setInterval>;

  /**
   * @param options the sink and its limits.
   * @param onError receives send failures (the client reports them as non-fatal `error` events).
   */
  constructor(
    private readonly options: ExposureOptions,
    private readonly onError: (error: Error) => void,
  ) {
    this.batchSize = positive(options.batchSize, 100);
    this.maxQueue = positive(options.maxQueue, 10_000);
    this.timer = setInterval(() => this.drain(false), positive(options.flushIntervalMs, 1000));
    unref(this.timer);
  }

  /** Exposures not delivered: dropped on overflow, in failed batches, or still queued when `close()` gave up. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Events waiting to be sent. */
  get queued(): number {
    return this.queue.length;
  }

  /** Queues one event (dropped and counted when the queue is full or the reporter is closed). */
  record(event: ExposureEvent): void {
    if (this.closed) return;
    if (this.queue.length >= this.maxQueue) {
      this.droppedCount++;
      return;
    }
    this.queue.push(event);
    if (this.queue.length >= this.batchSize && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        this.drain(true);
      });
    }
  }

  /** Sends everything queued now; resolves when it has been handed to `send` and settled. */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
    this.drain(false);
    while (this.sending) await this.sending;
  }

  /** Stops the interval and flushes what is queued, waiting at most `closeTimeoutMs`; later events are ignored. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timeout = setTimeout(() => resolve(true), positive(this.options.closeTimeoutMs, 2000));
      unref(timeout);
    });
    const flushed = this.flush().then(() => false);
    const timedOut = await Promise.race([flushed, gaveUp]);
    clearTimeout(timeout);
    this.closed = true;
    if (timedOut) {
      this.droppedCount += this.queue.length;
      this.queue = [];
    }
  }

  /** Starts sending batches unless one is in flight; `fullOnly` sends only full batches. */
  private drain(fullOnly: boolean): void {
    if (this.sending || this.queue.length === 0) return;
    if (fullOnly && this.queue.length < this.batchSize) return;
    this.sending = this.sendBatches(fullOnly).finally(() => {
      this.sending = null;
    });
  }

  private async sendBatches(fullOnly: boolean): Promise<void> {
    while (this.queue.length > 0 && (!fullOnly || this.queue.length >= this.batchSize)) {
      const batch = this.queue.length <= this.batchSize ? this.queue : this.queue.slice(0, this.batchSize);
      this.queue = batch === this.queue ? [] : this.queue.slice(this.batchSize);
      try {
        await this.options.send(batch);
      } catch (e) {
        this.droppedCount += batch.length;
        this.onError(new Error(`exposure send failed; dropped a batch of ${batch.length}: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
  }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 1 ? Math.floor(value) : fallback;
}

/** Timers must not keep a process alive (Node); browsers have no `unref`. */
function unref(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}
