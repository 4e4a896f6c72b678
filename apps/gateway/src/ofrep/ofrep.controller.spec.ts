import { matchesIfNoneMatch } from './ofrep.controller';

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
