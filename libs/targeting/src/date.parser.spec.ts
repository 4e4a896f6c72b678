import { parseIsoDate, toEpochMillis } from './date.parser';

describe('parseIsoDate', () => {
  it.each([
    ['2024-06-01', Date.UTC(2024, 5, 1)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['1970-01-01T00:00Z', 0],
    ['2024-06-01T12:30:15Z', Date.UTC(2024, 5, 1, 12, 30, 15)],
    ['2024-06-01t12:30:15.5z', Date.UTC(2024, 5, 1, 12, 30, 15, 500)],
    ['2024-06-01 12:30:15.123456789+00:00', Date.UTC(2024, 5, 1, 12, 30, 15, 123)],
    ['2024-06-01T12:00:00+02:00', Date.UTC(2024, 5, 1, 10)],
    ['2024-06-01T12:00:00-05:30', Date.UTC(2024, 5, 1, 17, 30)],
    ['1969-12-31T23:59:59.999Z', -1],
    ['0001-01-01', -62135596800000],
  ])('parses %s', (text, expected) => {
    expect(parseIsoDate(text)).toBe(expected);
  });

  it.each(['2023-02-29', '2024-13-01', '2024-00-10', '2024-06-31', '2024-06-01T24:00:00Z', '2024-06-01T12:00:00', '2024-6-1', 'June 1, 2024', '', '2024-06-01T12:00:00+2:00'])(
    'rejects %j',
    (text) => {
      expect(parseIsoDate(text)).toBeNaN();
    },
  );

  it('accepts finite epoch milliseconds and Date objects', () => {
    expect(toEpochMillis(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(toEpochMillis(new Date(5))).toBe(5);
    expect(toEpochMillis(Infinity)).toBeNaN();
    expect(toEpochMillis(true)).toBeNaN();
  });
});
