import {
  alertSettingsProblems,
  authorityProblems,
  daysLeft,
  dueExpiryAlert,
  isRenewalDue,
  issueSpecProblems,
  normalisedAlertDays,
  renewalDueAt,
  renewalRetryAt,
} from './certificates.rules';

const DAY = 86_400_000;
const EXPIRY = new Date('2026-06-30T00:00:00.000Z');
const before = (days: number, ms = 0) => new Date(EXPIRY.getTime() - days * DAY + ms);

describe('dueExpiryAlert', () => {
  const thresholds = [30, 7, 1];

  it('is due from exactly N days before expiry, once per threshold', () => {
    const state = { notAfter: EXPIRY, alertedDays: [] as number[], renewAt: null };
    expect(dueExpiryAlert(state, thresholds, before(30, -1))).toBeNull();
    expect(dueExpiryAlert(state, thresholds, before(30))).toEqual({ daysBefore: 30, covers: [30] });
    // Once sent, the same threshold is not due again; the next one comes at 7 days.
    const sent30 = { ...state, alertedDays: [30] };
    expect(dueExpiryAlert(sent30, thresholds, before(20))).toBeNull();
    expect(dueExpiryAlert(sent30, thresholds, before(7, -1))).toBeNull();
    expect(dueExpiryAlert(sent30, thresholds, before(7))).toEqual({ daysBefore: 7, covers: [7] });
    expect(dueExpiryAlert({ ...state, alertedDays: [30, 7] }, thresholds, before(1))).toEqual({ daysBefore: 1, covers: [1] });
    expect(dueExpiryAlert({ ...state, alertedDays: [1, 7, 30] }, thresholds, before(0))).toBeNull();
  });

  it('sends only the most urgent of several thresholds due at once, covering the others', () => {
    const fresh = { notAfter: EXPIRY, alertedDays: [] as number[], renewAt: null };
    // Uploaded five days before it expires: the 7-day alert goes out, and stands for the 30-day one.
    expect(dueExpiryAlert(fresh, thresholds, before(5))).toEqual({ daysBefore: 7, covers: [7, 30] });
    // Expired, nothing sent yet: the last threshold.
    expect(dueExpiryAlert(fresh, [7, 30, 1], new Date(EXPIRY.getTime() + DAY))).toEqual({ daysBefore: 1, covers: [1, 7, 30] });
    // Threshold 0: the moment it expires.
    expect(dueExpiryAlert(fresh, [0], before(0, -1))).toBeNull();
    expect(dueExpiryAlert(fresh, [0], before(0))).toEqual({ daysBefore: 0, covers: [0] });
  });

  it('keeps quiet for an issued certificate until its renewal is overdue', () => {
    const issued = { notAfter: EXPIRY, alertedDays: [] as number[], renewAt: before(10) };
    expect(dueExpiryAlert(issued, thresholds, before(10, -1))).toBeNull();
    expect(dueExpiryAlert(issued, thresholds, before(10))).toEqual({ daysBefore: 30, covers: [30] });
    expect(dueExpiryAlert({ ...issued, alertedDays: [30] }, thresholds, before(6))).toEqual({ daysBefore: 7, covers: [7] });
  });

  it('alerts on nothing without thresholds', () => {
    expect(dueExpiryAlert({ notAfter: EXPIRY, alertedDays: [], renewAt: null }, [], new Date(EXPIRY.getTime() + 100 * DAY))).toBeNull();
  });
});

describe('renewal at two thirds of the lifetime', () => {
  it('is due two thirds from notBefore to notAfter', () => {
    const nb = new Date('2026-01-01T00:00:00.000Z');
    const na = new Date(nb.getTime() + 90 * DAY);
    expect(renewalDueAt(nb, na)).toEqual(new Date(nb.getTime() + 60 * DAY));
    expect(isRenewalDue(nb, na, new Date(nb.getTime() + 60 * DAY - 1))).toBe(false);
    expect(isRenewalDue(nb, na, new Date(nb.getTime() + 60 * DAY))).toBe(true);
    // A 90-second certificate renews after 60 s; odd lifetimes round down to the millisecond.
    expect(renewalDueAt(nb, new Date(nb.getTime() + 90_000))).toEqual(new Date(nb.getTime() + 60_000));
    expect(renewalDueAt(nb, new Date(nb.getTime() + 100))).toEqual(new Date(nb.getTime() + 66));
  });

  it('retries a failed renewal after 1, 2, 4 … minutes, at most an hour', () => {
    const now = new Date('2026-01-01T00:00:00.000Z');
    expect([1, 2, 3, 6, 7, 50].map((f) => (renewalRetryAt(f, now).getTime() - now.getTime()) / 60_000)).toEqual([1, 2, 4, 32, 60, 60]);
  });

  it('counts whole days left, negative once expired', () => {
    expect(daysLeft(EXPIRY, before(7))).toBe(7);
    expect(daysLeft(EXPIRY, before(7, 1))).toBe(6);
    expect(daysLeft(EXPIRY, new Date(EXPIRY.getTime() + 1))).toBe(-1);
  });
});

describe('request rules', () => {
  it('checks an issue request field by field', () => {
    expect(issueSpecProblems({ commonName: 'api.shop.test', dnsNames: ['api.shop.test', '*.shop.test'], ipAddresses: ['10.0.0.1', '2001:db8::1'], lifetimeSeconds: 3600, keyType: 'RSA-2048' })).toEqual([]);
    expect(
      issueSpecProblems({ commonName: 'a, O=Evil', dnsNames: ['ok.test', 'bad_name', '*.*.test'], ipAddresses: ['300.1.1.1'], lifetimeSeconds: 59, keyType: 'DSA' }).map((p) => p.path),
    ).toEqual(['commonName', 'dnsNames[1]', 'dnsNames[2]', 'ipAddresses[0]', 'lifetimeSeconds', 'keyType']);
    expect(issueSpecProblems({ commonName: 'x', lifetimeSeconds: 60 })).toEqual([
      { path: 'dnsNames', message: 'give at least one DNS name or IP address: clients check the subject alternative names, not the common name' },
    ]);
    expect(issueSpecProblems({ commonName: 'x', dnsNames: 'x.test', ipAddresses: {}, lifetimeSeconds: 1.5 }).map((p) => p.path)).toEqual(['dnsNames', 'ipAddresses', 'lifetimeSeconds']);
  });

  it('checks a CA request', () => {
    expect(authorityProblems({ name: 'Shop CA (prod)' })).toEqual([]);
    expect(authorityProblems({ name: 'Shop CA', lifetimeDays: 3650 })).toEqual([]);
    expect(authorityProblems({ name: 'Shop "CA"', lifetimeDays: 0 }).map((p) => p.path)).toEqual(['name', 'lifetimeDays']);
    expect(authorityProblems({ name: ' leading space' }).map((p) => p.path)).toEqual(['name']);
    expect(authorityProblems({ name: 'x'.repeat(65) }).map((p) => p.path)).toEqual(['name']);
  });

  it('checks alert thresholds and orders them largest first', () => {
    expect(alertSettingsProblems({ alertDaysBefore: [1, 7, 30] })).toEqual([]);
    expect(alertSettingsProblems({ alertDaysBefore: 30 })).toEqual([{ path: 'alertDaysBefore', message: 'must be an array of whole numbers of days' }]);
    expect(alertSettingsProblems({ alertDaysBefore: [7, -1, 7, 2.5, 4000] })).toEqual([
      { path: 'alertDaysBefore[1]', message: 'must be a whole number of days from 0 (the day it expires) to 3650' },
      { path: 'alertDaysBefore[2]', message: 'repeats 7' },
      { path: 'alertDaysBefore[3]', message: 'must be a whole number of days from 0 (the day it expires) to 3650' },
      { path: 'alertDaysBefore[4]', message: 'must be a whole number of days from 0 (the day it expires) to 3650' },
    ]);
    expect(alertSettingsProblems({ alertDaysBefore: Array.from({ length: 11 }, (_, i) => i) })).toEqual([{ path: 'alertDaysBefore', message: 'at most 10 thresholds' }]);
    expect(normalisedAlertDays([1, 30, 7, 30])).toEqual([30, 7, 1]);
  });
});
