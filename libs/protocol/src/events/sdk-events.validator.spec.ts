import { SDK_EVENT_LIMITS, type SdkEventsBatchV1 } from './sdk-events.model';
import { checkSdkEventsBatchV1, sdkEventTime } from './sdk-events.validator';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const HOUR = 3_600_000;

describe('checkSdkEventsBatchV1', () => {
  const exposure = { kind: 'exposure', flag: 'new-checkout', variation: 'on', contextKey: 'user-1', timestamp: NOW } as const;
  const metric = { kind: 'metric', name: 'http.errors:5xx', value: -0.5, contextKey: 'user-1', timestamp: '2026-11-26T13:00:00+01:00' } as const;

  it('accepts exposures and metrics, with number or ISO timestamps, ignoring unknown fields', () => {
    const batch: SdkEventsBatchV1 = { v: 1, events: [exposure, metric] };
    expect(checkSdkEventsBatchV1(batch, NOW)).toEqual([]);
    expect(checkSdkEventsBatchV1({ events: [{ ...exposure, reason: 'SPLIT', ruleId: 'r' }], sdk: 'x' }, NOW)).toEqual([]);
  });

  it('accepts an experiment key and unit on exposures, and names the path of a bad one', () => {
    const inExperiment = { ...exposure, experiment: 'checkout-2026.q1', unit: 't'.repeat(SDK_EVENT_LIMITS.maxContextKeyLength) };
    expect(checkSdkEventsBatchV1({ events: [inExperiment, { ...exposure, experiment: 'checkout-2026' }] }, NOW)).toEqual([]);
    expect(
      checkSdkEventsBatchV1(
        {
          events: [
            { ...exposure, experiment: 'Checkout 2026' },
            { ...exposure, experiment: 7 },
            { ...inExperiment, unit: '' },
            { ...inExperiment, unit: `${inExperiment.unit}t` },
            { ...exposure, unit: 'tenant-1' },
          ],
        },
        NOW,
      ),
    ).toEqual([
      { path: 'events[0].experiment', message: 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$' },
      { path: 'events[1].experiment', message: 'must be string' },
      { path: 'events[2].unit', message: 'must NOT have fewer than 1 characters' },
      { path: 'events[3].unit', message: 'must NOT have more than 256 characters' },
      { path: 'events[4].experiment', message: 'is required with "unit"' },
    ]);
  });

  it('accepts the batch and field limits exactly, and refuses one more', () => {
    const full = { events: Array.from({ length: SDK_EVENT_LIMITS.maxEventsPerBatch }, () => exposure) };
    expect(checkSdkEventsBatchV1(full, NOW)).toEqual([]);
    expect(checkSdkEventsBatchV1({ events: [...full.events, exposure] }, NOW)).toEqual([{ path: 'events', message: 'must NOT have more than 1000 items' }]);
    const longest = { ...metric, name: `m${'x'.repeat(127)}`, contextKey: 'k'.repeat(256) };
    expect(checkSdkEventsBatchV1({ events: [longest] }, NOW)).toEqual([]);
    expect(checkSdkEventsBatchV1({ events: [{ ...longest, name: `${longest.name}x`, contextKey: `${longest.contextKey}k` }] }, NOW)).toEqual([
      { path: 'events[0].name', message: 'must match ^[A-Za-z][A-Za-z0-9_.:-]{0,127}$' },
      { path: 'events[0].contextKey', message: 'must NOT have more than 256 characters' },
    ]);
  });

  it('reports every structural problem with its path, only those of the event kind', () => {
    expect(
      checkSdkEventsBatchV1(
        {
          events: [
            exposure,
            { kind: 'metric', name: 'ok', value: '3', contextKey: 7, timestamp: 'now' },
            { kind: 'exposure', flag: 'a b', contextKey: 'u', timestamp: -1 },
            { flag: 'f' },
            { kind: 'purchase' },
            null,
          ],
        },
        NOW,
      ),
    ).toEqual([
      { path: 'events[1].value', message: 'must be number' },
      { path: 'events[1].contextKey', message: 'must be string' },
      { path: 'events[1].timestamp', message: 'must be milliseconds since the Unix epoch (a number) or an ISO 8601 date-time with a time zone' },
      { path: 'events[2].variation', message: 'is required' },
      { path: 'events[2].flag', message: 'must match ^[a-z0-9][a-z0-9_.-]{0,63}$' },
      { path: 'events[2].timestamp', message: 'must be milliseconds since the Unix epoch (a number) or an ISO 8601 date-time with a time zone' },
      { path: 'events[3].kind', message: 'is required ("exposure" or "metric")' },
      { path: 'events[4].kind', message: 'must be "exposure" or "metric"' },
      { path: 'events[5]', message: 'must be object' },
    ]);
  });

  it('refuses metric values beyond ±1e12 (they could overflow the sums of squares of the aggregations)', () => {
    expect(checkSdkEventsBatchV1({ events: [{ ...metric, value: 1e12 }, { ...metric, value: -1e12 }] }, NOW)).toEqual([]);
    expect(checkSdkEventsBatchV1({ events: [{ ...metric, value: 1e200 }, { ...metric, value: -1.000001e12 }] }, NOW)).toEqual([
      { path: 'events[0].value', message: 'must be <= 1000000000000' },
      { path: 'events[1].value', message: 'must be >= -1000000000000' },
    ]);
  });

  it('refuses bodies that are not a batch', () => {
    expect(checkSdkEventsBatchV1(undefined, NOW)).toEqual([{ path: '', message: 'must be object' }]);
    expect(checkSdkEventsBatchV1({}, NOW)).toEqual([{ path: 'events', message: 'is required' }]);
    expect(checkSdkEventsBatchV1({ v: 2, events: [] }, NOW)).toEqual([
      { path: 'v', message: 'must be 1' },
      { path: 'events', message: 'must NOT have fewer than 1 items' },
    ]);
  });

  it('bounds timestamps to 24 hours ahead and 30 days back of the receiving clock, inclusive', () => {
    const at = (timestamp: number | string) => checkSdkEventsBatchV1({ events: [{ ...exposure, timestamp }] }, NOW);
    expect(at(NOW + 24 * HOUR)).toEqual([]);
    expect(at(NOW - 30 * 24 * HOUR)).toEqual([]);
    expect(at(NOW + 24 * HOUR + 1)).toEqual([{ path: 'events[0].timestamp', message: 'is more than 24 hours in the future' }]);
    expect(at(NOW - 30 * 24 * HOUR - 1)).toEqual([{ path: 'events[0].timestamp', message: 'is more than 30 days in the past' }]);
    expect(at('2026-11-27T12:00:00Z')).toEqual([]);
    expect(at('2026-11-27T12:00:00.001Z')).toHaveLength(1);
    expect(at('2026-02-29T10:00:00Z')).toEqual([{ path: 'events[0].timestamp', message: 'is not a real date and time' }]);
  });
});

describe('sdkEventTime', () => {
  it('reads milliseconds (floored) and RFC 3339 date-times with any offset', () => {
    expect(sdkEventTime(1_795_000_000_123.9)).toBe(1_795_000_000_123);
    expect(sdkEventTime('2026-11-26T12:00:00Z')).toBe(NOW);
    expect(sdkEventTime('2026-11-26T13:30:00+01:30')).toBe(NOW);
    expect(sdkEventTime('2026-11-26T00:30:00.5-11:30')).toBe(NOW + 500);
    expect(sdkEventTime('2026-11-26T12:00:00.123456789Z')).toBe(NOW + 123);
  });

  it('refuses instants that do not exist', () => {
    for (const t of ['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-26T24:00:00Z', '2026-11-26T12:60:00Z', '2026-11-26T23:30:00-02:00x']) {
      expect(sdkEventTime(t)).toBeNaN();
    }
    expect(sdkEventTime(Number.NaN)).toBeNaN();
  });
});
