import type { NewSdkEvent } from '@flagstream/persistence';
import { stampedAt } from './sdk-event.intake';

describe('stampedAt', () => {
  const base = { kind: 'metric', environmentId: 'e', sdkKeyId: 'k', name: 'm', value: 1, contextKey: 'u' } as const;
  const event = (occurredAt: number, receivedAt: number): NewSdkEvent => ({ ...base, occurredAt: new Date(occurredAt), receivedAt: new Date(receivedAt) });
  const NOW = Date.parse('2026-11-26T12:00:00.000Z');
  const DAY = 86_400_000;

  it('stamps every row with the write time, not the time the request came in', () => {
    const out = stampedAt([event(NOW - 5000, NOW - 4000), event(NOW + 1000, NOW - 60_000)], NOW);
    expect(out.map((e) => e.receivedAt.toISOString())).toEqual([new Date(NOW).toISOString(), new Date(NOW).toISOString()]);
    expect(out.map((e) => e.occurredAt.getTime())).toEqual([NOW - 5000, NOW + 1000]);
  });

  it('caps the stamp at 30 days after the event occurred, so the row stays within the table CHECK', () => {
    const old = NOW - 30 * DAY - 10; // accepted on arrival, a little older than 30 days once written
    expect(stampedAt([event(old, NOW - 60_000)], NOW)[0]!.receivedAt.getTime()).toBe(NOW - 10);
  });
});
