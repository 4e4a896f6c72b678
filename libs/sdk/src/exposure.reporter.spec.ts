import { ExposureReporter, type ExposureEvent } from './exposure.reporter';

function event(i: number): ExposureEvent {
  return { flag: `f${i}`, variation: 'on', reason: 'DEFAULT', timestamp: i };
}

/** A sink whose sends the test completes by hand. */
class ManualSink {
  readonly batches: ExposureEvent[][] = [];
  private readonly pending: Array<() => void> = [];
  send = (batch: ExposureEvent[]): Promise<void> => {
    this.batches.push(batch);
    return new Promise((resolve) => this.pending.push(resolve));
  };
  completeAll(): void {
    for (const r of this.pending.splice(0)) r();
  }
}

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ExposureReporter', () => {
  const reporters: ExposureReporter[] = [];
  afterEach(async () => {
    for (const r of reporters.splice(0)) await r.close();
  });
  function make(options: ConstructorParameters<typeof ExposureReporter>[0], errors: Error[] = []): ExposureReporter {
    const r = new ExposureReporter(options, (e) => errors.push(e));
    reporters.push(r);
    return r;
  }

  it('deduplicates nothing: each evaluation of a unit, in an experiment or not, is delivered as recorded', async () => {
    const batches: ExposureEvent[][] = [];
    const r = make({ send: (b) => void batches.push(b), flushIntervalMs: 60_000 });
    const plain: ExposureEvent = { flag: 'f', variation: 'off', contextKey: 'u1', reason: 'SPLIT', timestamp: 1 };
    const inExperiment: ExposureEvent = { ...plain, timestamp: 2, experiment: 'checkout-2026', unit: 'tenant-7' };
    r.record(plain);
    r.record(inExperiment);
    r.record({ ...inExperiment, timestamp: 3 });
    await r.flush();
    expect(batches).toEqual([[plain, inExperiment, { ...inExperiment, timestamp: 3 }]]);
  });

  it('sends full batches soon after they fill (not inside record), one batch in flight at a time', async () => {
    const sink = new ManualSink();
    const r = make({ send: sink.send, batchSize: 3, flushIntervalMs: 60_000, closeTimeoutMs: 50 });
    for (let i = 0; i < 7; i++) r.record(event(i));
    // Nothing is sent synchronously from the getter path.
    expect(sink.batches).toEqual([]);
    await Promise.resolve();
    expect(sink.batches.map((b) => b.map((e) => e.flag))).toEqual([['f0', 'f1', 'f2']]);
    sink.completeAll();
    await until(() => sink.batches.length === 2);
    expect(sink.batches[1].map((e) => e.flag)).toEqual(['f3', 'f4', 'f5']);
    sink.completeAll();
    await new Promise((r) => setTimeout(r, 20));
    // The last one waits for the interval (or close): it is not a full batch.
    expect(sink.batches).toHaveLength(2);
    expect(r.queued).toBe(1);
  });

  it('sends a partial batch on the interval', async () => {
    const batches: ExposureEvent[][] = [];
    const r = make({ send: (b) => void batches.push(b), batchSize: 100, flushIntervalMs: 20 });
    r.record(event(1));
    r.record(event(2));
    await until(() => batches.length === 1);
    expect(batches[0].map((e) => e.flag)).toEqual(['f1', 'f2']);
    expect(r.queued).toBe(0);
  });

  it('drops new events once maxQueue are waiting, and counts them', async () => {
    const sink = new ManualSink();
    const r = make({ send: sink.send, batchSize: 2, maxQueue: 3, flushIntervalMs: 60_000 });
    r.record(event(0));
    r.record(event(1));
    await Promise.resolve();
    // The first batch is in flight (not queued); three more fit, the rest are dropped.
    for (let i = 2; i < 8; i++) r.record(event(i));
    expect(r.queued).toBe(3);
    expect(r.dropped).toBe(3);
    const flushed = r.flush();
    await until(() => {
      sink.completeAll();
      return sink.batches.length === 3;
    });
    sink.completeAll();
    await flushed;
    expect(r.queued).toBe(0);
    expect(sink.batches.map((b) => b.map((e) => e.flag))).toEqual([['f0', 'f1'], ['f2', 'f3'], ['f4']]);
  });

  it('drops a batch whose send fails (no retry), reports it, and keeps sending the next ones', async () => {
    const errors: Error[] = [];
    const sent: string[][] = [];
    let calls = 0;
    const r = make(
      {
        send: async (b) => {
          calls++;
          if (calls === 1) throw new Error('HTTP 503');
          sent.push(b.map((e) => e.flag));
        },
        batchSize: 2,
        flushIntervalMs: 60_000,
      },
      errors,
    );
    for (let i = 0; i < 4; i++) r.record(event(i));
    await until(() => sent.length === 1);
    expect(sent).toEqual([['f2', 'f3']]);
    expect(calls).toBe(2);
    expect(errors.map((e) => e.message)).toEqual(['exposure send failed; dropped a batch of 2: HTTP 503']);
    expect(r.dropped).toBe(2);
  });

  it('flushes what is queued on close, then ignores new events', async () => {
    const batches: ExposureEvent[][] = [];
    const r = make({ send: (b) => void batches.push(b), batchSize: 2, flushIntervalMs: 60_000 });
    for (let i = 0; i < 5; i++) r.record(event(i));
    await r.close();
    expect(batches.map((b) => b.map((e) => e.flag))).toEqual([['f0', 'f1'], ['f2', 'f3'], ['f4']]);
    r.record(event(9));
    expect(r.queued).toBe(0);
  });

  it('gives up on close after closeTimeoutMs when the sink hangs, counting what was not sent', async () => {
    const sink = new ManualSink();
    const r = make({ send: sink.send, batchSize: 2, flushIntervalMs: 60_000, closeTimeoutMs: 50 });
    for (let i = 0; i < 5; i++) r.record(event(i));
    const at = Date.now();
    await r.close();
    expect(Date.now() - at).toBeGreaterThanOrEqual(45);
    expect(Date.now() - at).toBeLessThan(1000);
    // One batch was handed over (and hangs); the three still queued are counted as dropped.
    expect(sink.batches).toHaveLength(1);
    expect(r.dropped).toBe(3);
    sink.completeAll();
  });
});
