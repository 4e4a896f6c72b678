import { isIP } from 'node:net';
import type { ErrorDetail } from '@flagstream/errors';
import { ISSUED_KEY_TYPES, type IssuedKeyType } from '@flagstream/persistence';
import { secretPathProblem } from './secret-policy';

const DAY_MS = 86_400_000;

/** Expiry alerts of an environment that never changed its settings: 30, 7 and 1 day before. */
export const DEFAULT_ALERT_DAYS_BEFORE: readonly number[] = [30, 7, 1];
export const MAX_ALERT_THRESHOLDS = 10;
export const MAX_ALERT_DAYS_BEFORE = 3650;
export const MIN_ISSUED_LIFETIME_SECONDS = 60;
export const MAX_ISSUED_LIFETIME_SECONDS = 3650 * 86_400;
export const MAX_AUTHORITY_LIFETIME_DAYS = 30 * 365;
export const DEFAULT_AUTHORITY_LIFETIME_DAYS = 3650;
export const MAX_SANS = 100;
/** A renewal that failed is tried again 1, 2, 4… minutes later, at most an hour later. */
const RETRY_BASE_MS = 60_000;
const RETRY_MAX_MS = 3_600_000;

/** A DNS name of a certificate: labels of letters, digits and `-`, optionally a leading `*.` wildcard. */
const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
/**
 * A common name or CA name: letters, digits, space and `. _ - * ( ) @ : / '`. Commas, quotes, `+`,
 * `=`, `;`, `<`, `>` and backslashes are refused: they are syntax in distinguished names (and the
 * X.509 library reparses names, which would split or drop a value holding them).
 */
const NAME_VALUE = /^[\p{L}\p{N}*]([\p{L}\p{N} ._\-*()@:/']*[\p{L}\p{N}._\-*()@:/'])?$/u;
const NAME_RULE = "1 to 64 of letters, digits, space and . _ - * ( ) @ : / ' (no commas, quotes, +, =, ;, <, >, backslashes), starting with a letter, digit or *";

/** What the issue call asks for, as received (validated by `issueSpecProblems`). */
export interface IssueInput {
  commonName: unknown;
  dnsNames?: unknown;
  ipAddresses?: unknown;
  lifetimeSeconds: unknown;
  keyType?: unknown;
}

/** Problems of an issue request (pure), with their paths. */
export function issueSpecProblems(input: IssueInput): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const cn = input.commonName;
  if (typeof cn !== 'string' || cn.length > 64 || !NAME_VALUE.test(cn)) out.push({ path: 'commonName', message: `must be ${NAME_RULE}` });
  const dns = input.dnsNames ?? [];
  const ips = input.ipAddresses ?? [];
  if (!Array.isArray(dns)) out.push({ path: 'dnsNames', message: 'must be an array of DNS names' });
  else {
    dns.forEach((d, i) => {
      if (typeof d !== 'string' || d.length > 253 || !DNS_NAME.test(d)) out.push({ path: `dnsNames[${i}]`, message: 'must be a DNS name (letters, digits, "-" between dots; optionally "*." first)' });
    });
  }
  if (!Array.isArray(ips)) out.push({ path: 'ipAddresses', message: 'must be an array of IPv4 or IPv6 addresses' });
  else {
    ips.forEach((a, i) => {
      if (typeof a !== 'string' || isIP(a) === 0) out.push({ path: `ipAddresses[${i}]`, message: 'must be an IPv4 or IPv6 address' });
    });
  }
  if (Array.isArray(dns) && Array.isArray(ips)) {
    if (dns.length + ips.length === 0) out.push({ path: 'dnsNames', message: 'give at least one DNS name or IP address: clients check the subject alternative names, not the common name' });
    if (dns.length + ips.length > MAX_SANS) out.push({ path: 'dnsNames', message: `at most ${MAX_SANS} DNS names and IP addresses together` });
  }
  const life = input.lifetimeSeconds;
  if (typeof life !== 'number' || !Number.isInteger(life) || life < MIN_ISSUED_LIFETIME_SECONDS || life > MAX_ISSUED_LIFETIME_SECONDS) {
    out.push({ path: 'lifetimeSeconds', message: `must be a whole number of seconds from ${MIN_ISSUED_LIFETIME_SECONDS} to ${MAX_ISSUED_LIFETIME_SECONDS}` });
  }
  if (input.keyType !== undefined && !(ISSUED_KEY_TYPES as readonly unknown[]).includes(input.keyType)) out.push({ path: 'keyType', message: `must be one of ${ISSUED_KEY_TYPES.join(', ')}` });
  return out;
}

/** Problems of a CA request (pure). */
export function authorityProblems(input: { name: unknown; lifetimeDays?: unknown }): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const n = input.name;
  if (typeof n !== 'string' || n.length > 64 || !NAME_VALUE.test(n)) out.push({ path: 'name', message: `must be ${NAME_RULE} (the CA certificate is "CN=<name>")` });
  const d = input.lifetimeDays;
  if (d !== undefined && (typeof d !== 'number' || !Number.isInteger(d) || d < 1 || d > MAX_AUTHORITY_LIFETIME_DAYS)) out.push({ path: 'lifetimeDays', message: `must be a whole number of days from 1 to ${MAX_AUTHORITY_LIFETIME_DAYS}` });
  return out;
}

/** Problems of an environment's alert settings (pure). */
export function alertSettingsProblems(input: { alertDaysBefore: unknown }): ErrorDetail[] {
  const days = input.alertDaysBefore;
  if (!Array.isArray(days)) return [{ path: 'alertDaysBefore', message: 'must be an array of whole numbers of days' }];
  const out: ErrorDetail[] = [];
  if (days.length > MAX_ALERT_THRESHOLDS) out.push({ path: 'alertDaysBefore', message: `at most ${MAX_ALERT_THRESHOLDS} thresholds` });
  days.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > MAX_ALERT_DAYS_BEFORE) out.push({ path: `alertDaysBefore[${i}]`, message: `must be a whole number of days from 0 (the day it expires) to ${MAX_ALERT_DAYS_BEFORE}` });
    else if (days.indexOf(d) !== i) out.push({ path: `alertDaysBefore[${i}]`, message: `repeats ${d}` });
  });
  return out;
}

/** The thresholds, largest first (the order alerts come due in). */
export function normalisedAlertDays(days: readonly number[]): number[] {
  return [...new Set(days)].sort((a, b) => b - a);
}

/** Problems of a secret path to publish to (pure). */
export function secretPathDetails(path: unknown, field = 'secretPath'): ErrorDetail[] {
  const problem = secretPathProblem(path);
  return problem ? [{ path: field, message: problem }] : [];
}

/** What an expiry check of one certificate version needs. */
export interface ExpiryState {
  notAfter: Date;
  /** Thresholds already sent (or covered) for this version. */
  alertedDays: readonly number[];
  /** Issued certificates: when renewal is due (null for uploaded ones). */
  renewAt: Date | null;
}

/** An alert that is due: its threshold, and every threshold it stands for (marked as sent with it). */
export interface DueExpiryAlert {
  daysBefore: number;
  covers: number[];
}

/**
 * Which expiry alert of a version is due at `now` (pure), once per threshold per version: a
 * threshold `d` is due from `notAfter − d days`. When several are due at once (a certificate that
 * was uploaded close to its expiry, or a pass that did not run for a while) only the most urgent
 * is sent and the others count as sent with it. An issued certificate is renewed at two thirds of
 * its lifetime, so it alerts only when its renewal is overdue (it failed or did not run).
 */
export function dueExpiryAlert(state: ExpiryState, alertDaysBefore: readonly number[], now: Date): DueExpiryAlert | null {
  if (state.renewAt && now.getTime() < state.renewAt.getTime()) return null;
  const sent = new Set(state.alertedDays);
  const due = normalisedAlertDays(alertDaysBefore).filter((d) => !sent.has(d) && now.getTime() >= state.notAfter.getTime() - d * DAY_MS);
  if (!due.length) return null;
  return { daysBefore: Math.min(...due), covers: due.sort((a, b) => a - b) };
}

/** When an issued certificate is renewed: two thirds into its lifetime (pure). */
export function renewalDueAt(notBefore: Date, notAfter: Date): Date {
  return new Date(notBefore.getTime() + Math.floor(((notAfter.getTime() - notBefore.getTime()) * 2) / 3));
}

/** Whether a version is due for renewal at `now` (pure). */
export function isRenewalDue(notBefore: Date, notAfter: Date, now: Date): boolean {
  return now.getTime() >= renewalDueAt(notBefore, notAfter).getTime();
}

/** When a failed renewal is tried again (pure): 1, 2, 4… minutes later, at most an hour. */
export function renewalRetryAt(failures: number, now: Date): Date {
  return new Date(now.getTime() + Math.min(RETRY_BASE_MS * 2 ** Math.min(Math.max(failures - 1, 0), 20), RETRY_MAX_MS));
}

/** Whole days from `now` to `notAfter`, rounded down (negative once expired). */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** The key type an issue request gets when it names none. */
export const DEFAULT_ISSUED_KEY_TYPE: IssuedKeyType = 'ECDSA-P256';
