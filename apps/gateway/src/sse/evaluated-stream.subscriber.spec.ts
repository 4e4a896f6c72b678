import { evaluated, sameEvaluated } from './evaluated-stream.subscriber';

describe('evaluated (what a client key receives of a result)', () => {
  it('keeps the value, variant, reason, error code and experiment marker, never the rule or messages', () => {
    expect(
      evaluated({ key: 'f', value: true, variation: 'on', reason: 'SPLIT', ruleId: 'tenants', experiment: 'checkout-2026', experimentUnit: 'tenant.id' }),
    ).toEqual({ value: true, variant: 'on', reason: 'SPLIT', experiment: 'checkout-2026', experimentUnit: 'tenant.id' });
    const untracked = evaluated({ key: 'f', value: false, variation: 'off', reason: 'SPLIT', experiment: undefined, experimentUnit: undefined });
    expect(Object.keys(untracked)).toEqual(['value', 'reason', 'variant']);
    expect(evaluated({ key: 'f', value: null, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING', errorMessage: 'no tenant.id' })).toEqual({
      value: null,
      reason: 'ERROR',
      errorCode: 'TARGETING_KEY_MISSING',
    });
  });

  it('treats a context moving into or out of an experiment as a change, even with the same value', () => {
    const inside = { value: false, variant: 'off', reason: 'SPLIT' as const, experiment: 'checkout-2026' };
    const outside = { value: false, variant: 'off', reason: 'SPLIT' as const };
    expect(sameEvaluated(inside, { ...inside })).toBe(true);
    expect(sameEvaluated(inside, outside)).toBe(false);
    expect(sameEvaluated(outside, inside)).toBe(false);
    expect(sameEvaluated({ ...inside, experimentUnit: 'tenant.id' }, inside)).toBe(false);
    expect(sameEvaluated(undefined, outside)).toBe(false);
  });
});
