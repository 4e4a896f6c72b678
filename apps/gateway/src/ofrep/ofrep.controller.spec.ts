import { flagMetadata, matchesIfNoneMatch } from './ofrep.controller';

describe('matchesIfNoneMatch (RFC 9110 13.1.2)', () => {
  it('matches exactly, weakly, within a list, and *', () => {
    const etag = '"14-abc"';
    expect(matchesIfNoneMatch(etag, etag)).toBe(true);
    expect(matchesIfNoneMatch(`W/${etag}`, etag)).toBe(true);
    expect(matchesIfNoneMatch(`"nope", ${etag}`, etag)).toBe(true);
    expect(matchesIfNoneMatch('*', etag)).toBe(true);
    expect(matchesIfNoneMatch('"nope"', etag)).toBe(false);
    expect(matchesIfNoneMatch(undefined, etag)).toBe(false);
  });
});

describe('flagMetadata (OFREP metadata of a flag result)', () => {
  it('carries the rule and the experiment marker, only when the result has them', () => {
    const base = { key: 'f', value: true, variation: 'on', reason: 'SPLIT' } as const;
    expect(flagMetadata({ ...base, ruleId: 'tenants', experiment: 'checkout-2026', experimentUnit: 'tenant.id' })).toEqual({
      ruleId: 'tenants',
      experiment: 'checkout-2026',
      experimentUnit: 'tenant.id',
    });
    expect(flagMetadata({ ...base, experiment: 'checkout-2026' })).toEqual({ experiment: 'checkout-2026' });
    expect(flagMetadata({ ...base, ruleId: undefined, experiment: undefined, experimentUnit: undefined })).toEqual({});
  });
});
