import { requireCount, requireFinite } from './input.validation';

/** Streaming sums of two per-unit values x and y over n units: n, Σx, Σx², Σy, Σy², Σxy. */
export interface BivariateSums {
  n: number;
  sumX: number;
  sumOfSquaresX: number;
  sumY: number;
  sumOfSquaresY: number;
  sumOfProducts: number;
}

/** Means and centred sums S_xx = Σx² - Σx·x̄, S_yy = Σy² - Σy·ȳ, S_xy = Σxy - Σx·ȳ. */
export interface CentredSums {
  n: number;
  /** NaN when n is 0. */
  meanX: number;
  /** NaN when n is 0. */
  meanY: number;
  sxx: number;
  syy: number;
  sxy: number;
}

const KEYS = ['sumY', 'sumOfSquaresY', 'sumX', 'sumOfSquaresX', 'sumOfProducts'] as const;

/**
 * Centred sums from streaming sums, refusing sums that no sample can have. Like {@link summarize},
 * a centred square within the rounding error of naive summation (2·n·ε·Σ(·)², plus what underflow
 * can lose) is exactly 0, and impossible sums are refused: a negative centred square beyond
 * rounding, or |S_xy| > √(S_xx·S_yy) beyond rounding (Cauchy–Schwarz). S_xy is clamped into that
 * bound, so S_xx - 2θS_xy + θ²S_yy-style combinations cannot go negative by more than rounding.
 *
 * `names` renames fields in error messages, for callers whose inputs use other field names (the
 * ratio metric's sumX2, sumY2, sumXY); every message starts with `label` and the field's name.
 * @throws RangeError naming the field when n is not a non-negative integer, a sum is not finite, a
 * sum of squares is negative, a sum is not 0 when n is 0, or the sums cannot come from one sample.
 */
export function centreBivariateSums(
  label: string,
  sums: BivariateSums,
  names: Partial<Record<keyof BivariateSums, string>> = {},
): CentredSums {
  const name = (key: keyof BivariateSums): string => `${label}.${names[key] ?? key}`;
  requireCount(name('n'), sums.n);
  for (const key of KEYS) requireFinite(name(key), sums[key]);
  for (const key of ['sumOfSquaresY', 'sumOfSquaresX'] as const) {
    if (sums[key] < 0) throw new RangeError(`${name(key)} must not be negative, got ${sums[key]}`);
  }
  const { n } = sums;
  if (n === 0) {
    const nonZero = KEYS.find((key) => sums[key] !== 0);
    if (nonZero !== undefined) throw new RangeError(`${name(nonZero)} must be 0 when n is 0, got ${sums[nonZero]}`);
    return { n, meanY: NaN, meanX: NaN, syy: 0, sxx: 0, sxy: 0 };
  }
  const meanY = sums.sumY / n;
  const meanX = sums.sumX / n;
  const square = (key: 'sumOfSquaresY' | 'sumOfSquaresX', sum: number, mean: number): number => {
    const centred = sums[key] - sum * mean;
    const roundingError = 2 * n * Number.EPSILON * sums[key] + n * Number.MIN_VALUE;
    if (centred < -roundingError) {
      throw new RangeError(`${name(key)} (${sums[key]}) is smaller than its sum²/n (${sum * mean}): these are not the sums of one sample`);
    }
    return centred <= roundingError ? 0 : centred;
  };
  const syy = square('sumOfSquaresY', sums.sumY, meanY);
  const sxx = square('sumOfSquaresX', sums.sumX, meanX);
  const bound = Math.sqrt(sxx) * Math.sqrt(syy); // not √(S_xx·S_yy), which can underflow
  const raw = sums.sumOfProducts - sums.sumX * meanY;
  // Rounding of n products and squares, plus underflow: a square or product below the subnormal
  // range loses up to MIN_VALUE each, so √Σx² may be short by up to √(n·MIN_VALUE).
  const rootX = Math.sqrt(sums.sumOfSquaresX);
  const rootY = Math.sqrt(sums.sumOfSquaresY);
  const underflow = Math.sqrt(n * Number.MIN_VALUE);
  const roundingError = 2 * n * Number.EPSILON * rootX * rootY + underflow * (rootX + rootY + underflow);
  if (Math.abs(raw) > bound + roundingError) {
    throw new RangeError(
      `${name('sumOfProducts')} (${sums.sumOfProducts}) is inconsistent with the other sums (|S_xy| > √(S_xx·S_yy)): these are not the sums of one sample`,
    );
  }
  return { n, meanY, meanX, syy, sxx, sxy: Math.max(-bound, Math.min(bound, raw)) };
}
