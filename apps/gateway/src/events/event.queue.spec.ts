import { EventQueue, type EventQueueOptions, type EventWriter, type FlushOutcome } from './event.queue';

/** A writer that records batches, and fails or stalls when told to. */
class FakeWriter implements EventWriter<number> {
  readonly batches: number[][] = [];
  failures: unknown[] = [];
  private stalled: { release: () => void; promise: Promise<void> } | null = null;

  get written(): number[] {
    return this.batches.flat();
  }

  stall(): void {
    let release = () => {};
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.stalled = { release, promise };
  }

  release(): void {
    this.stalled?.release();
    this.stalled = null;
  }

  async write(batch: readonly number[]): Promise<void> {
    if (this.stalled) await this.stalled.promise;
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    this.batches.push([...batch]);
  }
}

const permanent = Object.assign(new Error('bad row'), { permanent: true });

describe('EventQueue', () => {
  let writer: FakeWriter;
  let clock: number;
  let flushes: Array<[FlushOutcome, number]>;
  let gaveUp: number;
  const queues: Array<EventQueue<number>> = [];

  beforeEach(() => {
    writer = new FakeWriter();
    clock = 1_000_000;
    flushes = [];
    gaveUp = 0;
  });
  afterEach(async () => {
    writer.release();
    for (const q of queues.splice(0)) await q.stop(0);
  });

  function queue(options: Partial<EventQueueOptions> = {}): EventQueue<number> {
    const q = new EventQueue(writer, {
      capacity: 10,
      batchSize: 4,
      flushIntervalMs: 60_000,
      initialRetryMs: 1000,
      maxRetryMs: 4000,
      isPermanent: (e) => (e as { permanent?: boolean }).permanent === true,
      onFlush: (outcome, events) => flushes.push([outcome, events]),
      onGiveUp: (events) => (gaveUp += events),
      now: () => clock,
      ...options,
    });
    queues.push(q);
    return q;
  }

  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

  it('queues whole offers and writes them in batches of batchSize, in order', async () => {
    const q = queue();
    expect(q.offer([1, 2, 3])).toEqual({ queued: true });
    expect(q.offer([4, 5, 6])).toEqual({ queued: true });
    expect(q.depth).toBe(6);
    await q.flush();
    expect(writer.batches).toEqual([[1, 2, 3, 4], [5, 6]]);
    expect(flushes).toEqual([['written', 4], ['written', 2]]);
    expect(q.depth).toBe(0);
  });

  it('writes a full batch without waiting for the interval, and leaves a partial one queued', async () => {
    const q = queue();
    q.offer(range(1, 6));
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.batches).toEqual([[1, 2, 3, 4]]);
    expect(q.depth).toBe(2);
  });

  it('flushes on the interval', async () => {
    jest.useFakeTimers();
    try {
      const q = queue({ flushIntervalMs: 100 });
      q.start();
      q.offer([1, 2]);
      expect(writer.batches).toEqual([]);
      await jest.advanceTimersByTimeAsync(100);
      expect(writer.batches).toEqual([[1, 2]]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses an offer whole when it would overflow the capacity, counting events being written', async () => {
    const q = queue({ capacity: 5 });
    writer.stall();
    expect(q.offer([1, 2, 3, 4])).toEqual({ queued: true });
    await Promise.resolve(); // the full batch is now being written (stalled)
    expect(q.depth).toBe(4);
    expect(q.offer([5, 6])).toEqual({ queued: false, retryAfterSeconds: 1, reason: 'full' });
    expect(q.offer([5])).toEqual({ queued: true });
    expect(q.offer([6])).toMatchObject({ queued: false, reason: 'full' });
    expect(q.offer(range(1, 6))).toEqual({ queued: false, retryAfterSeconds: 1, reason: 'too-large' });
    writer.release();
    await q.flush();
    expect(writer.written).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps a failed batch at the head and retries it after a growing delay, telling clients how long to wait', async () => {
    const q = queue();
    writer.failures = [new Error('connection refused'), new Error('connection refused')];
    q.offer([1, 2]);
    await q.flush();
    expect(flushes).toEqual([['retry', 2]]);
    expect(q.depth).toBe(2);
    q.offer([3]);
    clock += 999;
    await q.flush(); // still waiting out the first delay (1 s)
    expect(writer.batches).toEqual([]);
    clock += 1;
    await q.flush();
    expect(flushes.at(-1)).toEqual(['retry', 3]);
    expect(q.offer(range(4, 8))).toEqual({ queued: false, retryAfterSeconds: 2, reason: 'full' });
    clock += 2000;
    await q.flush();
    expect(writer.batches).toEqual([[1, 2, 3]]);
    expect(q.offer(range(4, 7))).toEqual({ queued: true });
    await q.flush();
    expect(writer.written).toEqual(range(1, 10));
    expect(q.dropped).toBe(0);
  });

  it('caps the retry delay', async () => {
    const q = queue({ capacity: 100 });
    writer.failures = Array.from({ length: 5 }, () => new Error('down'));
    q.offer([1]);
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = clock;
      await q.flush();
      const refused = q.offer(range(0, 100));
      delays.push(refused.queued ? 0 : refused.retryAfterSeconds);
      clock = before + 10_000;
    }
    expect(delays).toEqual([1, 2, 4, 4, 4]);
  });

  it('drops a batch the writer calls permanently bad, and goes on with the next', async () => {
    const q = queue();
    writer.failures = [permanent];
    q.offer(range(1, 6));
    await q.flush();
    expect(writer.batches).toEqual([[5, 6]]);
    expect(flushes).toEqual([['dropped', 4], ['written', 2]]);
    expect(q.dropped).toBe(4);
  });

  it('stop() refuses new offers and writes what is queued, retrying within its time', async () => {
    const q = queue({ now: Date.now, initialRetryMs: 5 });
    writer.failures = [new Error('blip')];
    q.offer([7, 8]);
    await q.stop(1000);
    expect(writer.batches).toEqual([[7, 8]]);
    expect(flushes).toEqual([['retry', 2], ['written', 2]]);
    expect(q.offer([9])).toEqual({ queued: false, retryAfterSeconds: 1, reason: 'closed' });
    expect(q.depth).toBe(0);
    expect(gaveUp).toBe(0);
  });

  it('stop() gives up on what it cannot write in time, counting it as dropped', async () => {
    const q = queue({ now: Date.now, initialRetryMs: 10, maxRetryMs: 10 });
    writer.failures = Array.from({ length: 1000 }, () => new Error('down'));
    q.offer([1, 2, 3]);
    await q.stop(60);
    expect(gaveUp).toBe(3);
    expect(q.dropped).toBe(3);
    expect(q.depth).toBe(0);
    expect(writer.batches).toEqual([]);
  });

  it('stop() does not wait past its time for a write that hangs', async () => {
    const q = queue({ now: Date.now });
    writer.stall();
    q.offer(range(1, 4));
    await Promise.resolve();
    q.offer([5]);
    const started = Date.now();
    await q.stop(50);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(gaveUp).toBe(1);
  });
});
