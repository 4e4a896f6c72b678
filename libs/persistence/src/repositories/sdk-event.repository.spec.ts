import { receivedAtFor } from './sdk-event.repository';

describe('receivedAtFor', () => {
  const NOW = Date.parse('2026-11-26T12:00:00.000Z');
  const DAY = 86_400_000;

  it('is the write time, not the time the request came in', () => {
    expect(receivedAtFor(NOW - 5000, NOW)).toBe(NOW);
    expect(receivedAtFor(NOW + 1000, NOW)).toBe(NOW);
  });

  it('is capped at 30 days after the event occurred, so the row stays within the table CHECK', () => {
    const old = NOW - 30 * DAY - 10; // accepted on arrival, a little older than 30 days once written
    expect(receivedAtFor(old, NOW)).toBe(NOW - 10);
  });
});
