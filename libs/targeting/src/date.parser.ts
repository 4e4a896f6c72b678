/*
 * Dates for `before` / `after`: epoch milliseconds (a finite number) or an ISO 8601 / RFC 3339
 * string in one of these forms, parsed by hand so that every platform agrees:
 *   YYYY-MM-DD                                  midnight UTC
 *   YYYY-MM-DDTHH:mm[:ss[.fraction]](Z|±HH:mm)  a time needs an explicit offset
 * `T` may be `t` or a space, `Z` may be `z`; fraction digits beyond milliseconds are truncated.
 */
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|([+-])(\d{2}):(\d{2})))?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Epoch milliseconds of an ISO 8601 string in the accepted forms, or NaN. */
export function parseIsoDate(text: string): number {
  if (text.length > 40) return Number.NaN;
  const m = ISO_DATE.exec(text);
  if (!m) return Number.NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  const days = daysFromCivil(year, month, day);
  if (m[4] === undefined) return days * 86_400_000;
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (hour > 23 || minute > 59 || second > 59) return Number.NaN;
  let offset = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = Number(m[11]);
    if (offsetHours > 23 || offsetMinutes > 59) return Number.NaN;
    offset = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1_000 + millis - offset;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** A date operand or attribute value as epoch milliseconds: finite numbers as-is, ISO strings parsed; else NaN. */
export function toEpochMillis(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value === 'string') return parseIsoDate(value);
  if (value instanceof Date) return value.getTime();
  return Number.NaN;
}
