import * as fc from 'fast-check';
import { compare, valid } from 'semver';
import { compareVersion, parseVersionOperand } from './semver.comparator';

describe('compareVersion', () => {
  const operand = (v: string) => parseVersionOperand(v)!;

  it('agrees with semver.compare on arbitrary versions, including prereleases and builds', () => {
    const part = fc.oneof(fc.nat({ max: 20 }), fc.constantFrom(0, 1, 999999999999999, 1e16));
    const pre = fc.option(fc.constantFrom('alpha', 'beta.1', 'rc.2', '0', 'x-y'), { nil: undefined });
    const version = fc
      .tuple(part, part, part, pre, fc.boolean(), fc.boolean())
      .map(([a, b, c, p, build, v]) => `${v ? 'v' : ''}${a}.${b}.${c}${p ? `-${p}` : ''}${build ? '+b.1' : ''}`);
    fc.assert(
      fc.property(version, version, (value, target) => {
        const op = parseVersionOperand(target);
        fc.pre(op !== null);
        const expected = valid(value) ? compare(value, target) : Number.NaN;
        expect(compareVersion(value, op!)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('returns NaN for strings that are not semver', () => {
    for (const value of ['', '1', '1.2', '01.2.3', '1.02.3', '1.2.3.4', '1..3', 'a.b.c', '1.2.3-']) {
      expect(compareVersion(value, operand('1.2.3'))).toBeNaN();
    }
  });

  it('compares plain versions numerically, not lexically', () => {
    expect(compareVersion('2.10.0', operand('2.9.0'))).toBe(1);
    expect(compareVersion('2.9.0', operand('2.10.0'))).toBe(-1);
    expect(compareVersion('2.3.0', operand('2.3.0'))).toBe(0);
    expect(compareVersion('2.3.0', operand('2.3.0-rc.1'))).toBe(1);
  });
});
