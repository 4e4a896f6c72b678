import { PropagationReader, percentile, summarise } from './propagation.reader';

describe('propagation receipts', () => {
  it('takes nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 99), percentile(xs, 100), percentile([], 50)]).toEqual([50, 99, 100, 0]);
  });

  it('summarises counts and latencies', () => {
    expect(summarise(7, 8412, 8387, [10, 20, 41])).toEqual({
      revision: 7,
      connected: 8412,
      acknowledged: 8387,
      ratio: 8387 / 8412,
      latencyMs: { p50: 20, p99: 41, max: 41 },
      summary: 'revision 7 reached 99.7% of 8,412 SDKs; p50 20 ms, p99 41 ms after commit',
    });
    expect(summarise(3, 0, 0, []).summary).toBe('revision 3 was published to 0 SDKs; none acknowledged it yet');
  });

  it('reads what gateways wrote, or null when nothing was', async () => {
    const data: Record<string, Record<string, string>> = { 'p:receipts:e:5': { connected: '4', acknowledged: '2' } };
    const lists: Record<string, string[]> = { 'p:receipts:e:5:ms': ['30', '10'] };
    const redis = {
      hgetall: async (k: string) => data[k] ?? {},
      lrange: async (k: string) => lists[k] ?? [],
    };
    const reader = new PropagationReader(redis as never, 'p:');
    expect(await reader.read('e', 5)).toMatchObject({ connected: 4, acknowledged: 2, ratio: 0.5, latencyMs: { p50: 10, p99: 30, max: 30 } });
    expect(await reader.read('e', 6)).toBeNull();
  });
});
