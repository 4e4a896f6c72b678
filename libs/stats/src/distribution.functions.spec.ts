import {
  betaCdf,
  betaQuantile,
  chiSquareCdf,
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
} from './distribution.functions';

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

describe('distribution functions', () => {
  it('know the textbook critical values', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normalCdf(-1.959963984540054)).toBeCloseTo(0.025, 15);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228138851986274, 13);
    expect(chiSquareCdf(3.841458820694124, 1)).toBeCloseTo(0.95, 14);
    expect(betaCdf(0.5, 1, 1)).toBeCloseTo(0.5, 15);
  });

  it('take a mean and standard deviation for the normal', () => {
    expect(normalCdf(13, 10, 3)).toBeCloseTo(normalCdf(1), 15);
    expect(normalQuantile(0.975, 10, 3)).toBeCloseTo(10 + 3 * 1.959963984540054, 13);
  });

  it('invert the normal CDF to full precision far into the lower tail, where stdlib alone loses digits', () => {
    for (const p of [1e-300, 1e-100, 1e-20, 1e-16, 1e-12, 1e-10, 1e-6, 0.01, 0.3, 0.5]) {
      const x = normalQuantile(p);
      expect(relativeError(normalCdf(x), p)).toBeLessThan(1e-13);
    }
  });

  it('make the normal quantile exactly antisymmetric about 0.5', () => {
    for (const p of [0.5, 0.6, 0.9, 0.975, 0.999999, 1 - 1e-12]) {
      expect(normalQuantile(p)).toBe(-normalQuantile(1 - p) + 0);
    }
  });

  it('give the infinite quantiles at p = 0 and 1', () => {
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(studentTQuantile(0, 5)).toBe(-Infinity);
    expect(studentTQuantile(1, 5)).toBe(Infinity);
  });

  it('invert the t CDF for fractional degrees of freedom', () => {
    for (const df of [1, 2.5, 7.3, 30, 1234.5]) {
      for (const p of [1e-9, 0.001, 0.05, 0.5, 0.9, 0.999]) {
        expect(relativeError(studentTCdf(studentTQuantile(p, df), df), p)).toBeLessThan(1e-11);
      }
    }
  });

  it('treat infinite degrees of freedom as the normal (stdlib alone answers 0.5 and NaN)', () => {
    expect(studentTCdf(1.5, Infinity)).toBe(normalCdf(1.5));
    expect(studentTQuantile(0.975, Infinity)).toBe(normalQuantile(0.975));
    expect(Math.abs(studentTCdf(1.5, 1e9) - normalCdf(1.5))).toBeLessThan(1e-9);
  });

  it('keep lower-tail t probabilities precise (the one-sided p-values of the t-test use them)', () => {
    // P(T <= -40) with 3.7 d.f. is about 2.6e-6; 1 - P(T <= 40) would keep only ~10 digits.
    expect(studentTCdf(-40, 3.7)).toBeGreaterThan(0);
    expect(relativeError(studentTCdf(-40, 3.7), 1 - studentTCdf(40, 3.7))).toBeLessThan(1e-9);
  });

  it('invert the beta CDF', () => {
    for (const [alpha, beta] of [[31, 971], [0.5, 0.5], [2, 5], [120.5, 880.5]] as const) {
      for (const p of [0.025, 0.5, 0.975]) {
        expect(relativeError(betaCdf(betaQuantile(p, alpha, beta), alpha, beta), p)).toBeLessThan(1e-11);
      }
    }
  });

  it('throw RangeError naming the bad parameter instead of returning NaN', () => {
    expect(() => normalCdf(NaN)).toThrow(new RangeError('x must be a number, got NaN'));
    expect(() => normalCdf(0, 0, 0)).toThrow(new RangeError('standardDeviation must be a positive finite number, got 0'));
    expect(() => normalQuantile(1.5)).toThrow(new RangeError('p must be a probability in [0, 1], got 1.5'));
    expect(() => normalQuantile(-0.1)).toThrow(RangeError);
    expect(() => normalQuantile(NaN)).toThrow(RangeError);
    expect(() => studentTCdf(1, 0)).toThrow(new RangeError('degreesOfFreedom must be a positive number, got 0'));
    expect(() => studentTCdf(1, -3)).toThrow(RangeError);
    expect(() => studentTQuantile(0.5, NaN)).toThrow(RangeError);
    expect(() => chiSquareCdf(1, Infinity)).toThrow(new RangeError('degreesOfFreedom must be a positive finite number, got Infinity'));
    expect(() => chiSquareCdf(NaN, 2)).toThrow(RangeError);
    expect(() => betaCdf(0.5, 0, 1)).toThrow(new RangeError('alpha must be a positive finite number, got 0'));
    expect(() => betaQuantile(0.5, 1, -1)).toThrow(new RangeError('beta must be a positive finite number, got -1'));
    expect(() => betaQuantile(2, 1, 1)).toThrow(RangeError);
  });

  it('accept infinite x at the ends of the support', () => {
    expect(normalCdf(-Infinity)).toBe(0);
    expect(normalCdf(Infinity)).toBe(1);
    expect(studentTCdf(Infinity, 4)).toBe(1);
    expect(chiSquareCdf(Infinity, 3)).toBe(1);
    expect(chiSquareCdf(-1, 3)).toBe(0);
    expect(betaCdf(-0.5, 2, 3)).toBe(0);
    expect(betaCdf(1.5, 2, 3)).toBe(1);
  });
});
