import { isSecretReference, resolveSecretReferences, secretReferenceProblems, secretReferences, withReferencePlaceholders } from './secret-reference';

const value = { db: { host: 'db.internal', password: { $secret: 'db/main/password' } }, tokens: ['plain', { $secret: 'api/token' }] };

describe('secret references', () => {
  it('recognises exactly {"$secret": path}', () => {
    expect(isSecretReference({ $secret: 'a/b' })).toBe(true);
    for (const no of [{ $secret: 'A' }, { $secret: 'a', other: 1 }, { $secret: 3 }, ['$secret'], null, 'a']) expect(isSecretReference(no)).toBe(false);
  });

  it('lists references with where they sit', () => {
    expect(secretReferences(value)).toEqual([
      { at: 'db.password', path: 'db/main/password' },
      { at: 'tokens[1]', path: 'api/token' },
    ]);
    expect(secretReferences({ $secret: 'x' })).toEqual([{ at: '', path: 'x' }]);
  });

  it('reports malformed references by path', () => {
    expect(secretReferenceProblems({ a: { $secret: 'Bad Path' }, b: [{ $secret: 'ok', extra: true }], c: { $secret: 'fine' } }).map((p) => p.path)).toEqual(['a', 'b[0]']);
    expect(secretReferenceProblems(value)).toEqual([]);
  });

  it('replaces references with placeholders for schema checks, and with values when resolving', () => {
    expect(withReferencePlaceholders(value)).toEqual({ db: { host: 'db.internal', password: 'flagstream-secret-reference' }, tokens: ['plain', 'flagstream-secret-reference'] });
    const secrets: Record<string, string> = { 'db/main/password': 'pw', 'api/token': 'tok' };
    expect(resolveSecretReferences(value, (p) => secrets[p])).toEqual({ value: { db: { host: 'db.internal', password: 'pw' }, tokens: ['plain', 'tok'] } });
    expect(resolveSecretReferences(value, (p) => (p === 'api/token' ? 'tok' : undefined))).toEqual({ missing: 'db/main/password' });
    // The original is untouched.
    expect(value.db.password).toEqual({ $secret: 'db/main/password' });
  });
});
