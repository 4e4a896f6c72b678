import { randomToken, retryAt, rotationPolicyProblems, rotationStatus } from './secret-rotation';

describe('rotationPolicyProblems', () => {
  it('accepts the two rotators with their settings', () => {
    expect(rotationPolicyProblems({ intervalSeconds: 86_400, rotator: 'random-token', config: { bytes: 48, encoding: 'hex', prefix: 'tok_' } })).toEqual([]);
    expect(rotationPolicyProblems({ intervalSeconds: 3600, graceSeconds: 600, notifyBeforeSeconds: 300, rotator: 'webhook', config: { url: 'https://mint.example/rotate', signingSecretPath: 'rotator/hmac' } })).toEqual([]);
  });

  it('names every problem with its path', () => {
    expect(rotationPolicyProblems({ intervalSeconds: 59, graceSeconds: -1, rotator: 'random-token', config: { bytes: 8, encoding: 'base32', prefix: 'has space', extra: 1 } }).map((d) => d.path)).toEqual([
      'intervalSeconds',
      'graceSeconds',
      'config.extra',
      'config.bytes',
      'config.encoding',
      'config.prefix',
    ]);
    expect(rotationPolicyProblems({ intervalSeconds: 600, graceSeconds: 600, rotator: 'webhook', config: { url: 'ftp://x', signingSecretPath: 'Bad Path' } }).map((d) => d.path)).toEqual([
      'graceSeconds',
      'config.url',
      'config.signingSecretPath',
    ]);
    expect(rotationPolicyProblems({ intervalSeconds: 600, rotator: 'webhook', config: { url: 'https://user:pw@x.example/', signingSecretPath: 'a' } }).map((d) => d.path)).toEqual(['config.url']);
    expect(rotationPolicyProblems({ intervalSeconds: 600, rotator: 'manual' as never }).map((d) => d.path)).toEqual(['rotator']);
  });
});

describe('randomToken', () => {
  it('draws fresh tokens in the asked encoding and length', () => {
    const a = randomToken({ bytes: 16, encoding: 'hex', prefix: 'tok_' });
    expect(a).toMatch(/^tok_[0-9a-f]{32}$/);
    expect(randomToken({ bytes: 16, encoding: 'hex', prefix: 'tok_' })).not.toBe(a);
    expect(randomToken({})).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('rotationStatus and retryAt', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);

  it('orders failing over overdue over due soon over ok', () => {
    expect(rotationStatus({ nextRotationAt: at(10), notifyBeforeSeconds: 0, consecutiveFailures: 0 }, now)).toBe('ok');
    expect(rotationStatus({ nextRotationAt: at(10), notifyBeforeSeconds: 600, consecutiveFailures: 0 }, now)).toBe('due-soon');
    expect(rotationStatus({ nextRotationAt: at(0), notifyBeforeSeconds: 0, consecutiveFailures: 0 }, now)).toBe('overdue');
    expect(rotationStatus({ nextRotationAt: at(-5), notifyBeforeSeconds: 0, consecutiveFailures: 2 }, now)).toBe('failing');
  });

  it('backs off 1, 2, 4… minutes after each failure, never beyond the interval', () => {
    expect([1, 2, 3, 4].map((f) => (retryAt(f, 86_400, now).getTime() - now.getTime()) / 60_000)).toEqual([1, 2, 4, 8]);
    expect(retryAt(30, 600, now).getTime() - now.getTime()).toBe(600_000);
  });
});
