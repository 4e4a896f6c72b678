import { pathMatches, pathPatternProblem, policyProblems, readDecision, secretPathProblem, type SecretPolicyRule, type SecretReader } from './secret-policy';

describe('secret paths and patterns', () => {
  it('accepts slash-separated lower-case segments and refuses the rest', () => {
    for (const ok of ['api-key', 'payments/stripe/api-key', 'db/main.password', 'a/b_c/1']) expect(secretPathProblem(ok)).toBeNull();
    for (const bad of ['', '/a', 'a/', 'a//b', 'A/b', 'a/.hidden', 'a/-x', 'a b', 'a/*', 'x'.repeat(257), Array.from({ length: 17 }, () => 'a').join('/'), 42]) {
      expect(secretPathProblem(bad)).not.toBeNull();
    }
  });

  it('matches * to one segment and ** to any number', () => {
    expect(pathMatches('payments/**', 'payments/stripe/api-key')).toBe(true);
    expect(pathMatches('payments/**', 'payments')).toBe(true);
    expect(pathMatches('payments/**', 'paymentsx/a')).toBe(false);
    expect(pathMatches('*/api-key', 'stripe/api-key')).toBe(true);
    expect(pathMatches('*/api-key', 'payments/stripe/api-key')).toBe(false);
    expect(pathMatches('**/api-key', 'payments/stripe/api-key')).toBe(true);
    expect(pathMatches('**', 'anything/at/all')).toBe(true);
    expect(pathMatches('db/*/password', 'db/main/password')).toBe(true);
    expect(pathMatches('db/*/password', 'db/password')).toBe(false);
    expect(pathMatches('db/main', 'db/main/password')).toBe(false);
  });

  it('checks patterns and policy fields with paths', () => {
    expect(pathPatternProblem('payments/**')).toBeNull();
    expect(pathPatternProblem('pay*')).not.toBeNull();
    expect(policyProblems({ paths: ['ok/**', 'Bad'], environments: [] }).map((d) => d.path)).toEqual(['paths.1', 'environments']);
    expect(policyProblems({ paths: [], environments: '*' }).map((d) => d.path)).toEqual(['paths']);
  });
});

describe('readDecision', () => {
  const policies: SecretPolicyRule[] = [
    { id: 'p-editors', subject: { type: 'role', role: 'editor' }, paths: ['payments/**'], environments: ['staging'] },
    { id: 'p-owners', subject: { type: 'role', role: 'owner' }, paths: ['**'], environments: '*' },
    { id: 'p-svc', subject: { type: 'sdk-key', id: 'key-1' }, paths: ['payments/stripe/*'], environments: ['production'] },
  ];
  const viewer: SecretReader = { type: 'token', role: 'viewer' };
  const editor: SecretReader = { type: 'token', role: 'editor' };
  const owner: SecretReader = { type: 'token', role: 'owner' };
  const svc: SecretReader = { type: 'sdk-key', id: 'key-1', kind: 'server' };
  const other: SecretReader = { type: 'sdk-key', id: 'key-2', kind: 'server' };
  const browser: SecretReader = { type: 'sdk-key', id: 'key-1', kind: 'client' };

  // [reader, environment, path, expected policy or null]
  const matrix: Array<[string, SecretReader, string, string, string | null]> = [
    ['viewer', viewer, 'staging', 'payments/stripe/api-key', null],
    ['editor', editor, 'staging', 'payments/stripe/api-key', 'p-editors'],
    ['editor', editor, 'production', 'payments/stripe/api-key', null],
    ['editor', editor, 'staging', 'db/password', null],
    ['owner', owner, 'production', 'db/password', 'p-owners'],
    ['owner', owner, 'staging', 'payments/x', 'p-editors'],
    ['server key', svc, 'production', 'payments/stripe/api-key', 'p-svc'],
    ['server key', svc, 'production', 'payments/stripe/webhook/secret', null],
    ['server key', svc, 'staging', 'payments/stripe/api-key', null],
    ['other server key', other, 'production', 'payments/stripe/api-key', null],
    ['client key', browser, 'production', 'payments/stripe/api-key', null],
  ];

  it.each(matrix)('%s in %s reading %s -> %s', (_name, reader, env, path, expected) => {
    const d = readDecision(policies, reader, env, path);
    expect(d).toEqual(expected ? { allowed: true, policy: expected } : { allowed: false });
  });

  it('denies everyone without policies, and client keys even with a policy naming them', () => {
    expect(readDecision([], owner, 'production', 'a')).toEqual({ allowed: false });
    expect(readDecision([{ id: 'x', subject: { type: 'sdk-key', id: 'key-1' }, paths: ['**'], environments: '*' }], browser, 'production', 'a')).toEqual({ allowed: false });
  });
});
