import { CryptoUsageError } from './crypto.errors';
import { nonceBudget } from './nonce.budget';

describe('nonceBudget', () => {
  it.each([
    [0, { remaining: 2 ** 32, shouldRotate: false, mustRotate: false }],
    [2 ** 31 - 1, { remaining: 2 ** 31 + 1, shouldRotate: false, mustRotate: false }],
    [2 ** 31, { remaining: 2 ** 31, shouldRotate: true, mustRotate: false }],
    [2 ** 32 - 1, { remaining: 1, shouldRotate: true, mustRotate: false }],
    [2 ** 32, { remaining: 0, shouldRotate: true, mustRotate: true }],
    [2 ** 32 + 5, { remaining: 0, shouldRotate: true, mustRotate: true }],
  ])('after %d wraps under the NIST defaults', (uses, expected) => {
    expect(nonceBudget(uses)).toEqual(expected);
  });

  it('applies a stricter limit and threshold', () => {
    expect(nonceBudget(9, { limit: 10, rotateAt: 8 })).toEqual({ remaining: 1, shouldRotate: true, mustRotate: false });
    expect(nonceBudget(7, { limit: 10, rotateAt: 8 })).toEqual({ remaining: 3, shouldRotate: false, mustRotate: false });
    expect(nonceBudget(10, { limit: 10, rotateAt: 10 })).toEqual({ remaining: 0, shouldRotate: true, mustRotate: true });
  });

  it.each([
    ['negative uses', -1, {}],
    ['fractional uses', 1.5, {}],
    ['NaN uses', NaN, {}],
    ['a threshold above the limit', 0, { limit: 10, rotateAt: 11 }],
    ['a negative limit', 0, { limit: -1, rotateAt: -1 }],
  ])('refuses %s', (_label, uses, options) => {
    expect(() => nonceBudget(uses, options)).toThrow(CryptoUsageError);
  });
});
