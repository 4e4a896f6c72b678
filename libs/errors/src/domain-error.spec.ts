import { NotFoundError, ValidationError, VersionConflictError, joinPath } from './domain-error';

describe('domain errors', () => {
  it('carry a status, a code and their own class name', () => {
    const e = new NotFoundError('flag "x" not found');
    expect(e).toBeInstanceOf(Error);
    expect([e.status, e.code, e.name, e.message]).toEqual([404, 'NOT_FOUND', 'NotFoundError', 'flag "x" not found']);
  });

  it('prefix nested validation paths into the request body', () => {
    const e = ValidationError.fromProblems('bad', [{ path: 'rules[0].serve', message: 'm' }, { path: '[1]', message: 'n' }, { message: 'o' }], 'settings');
    expect(e.details).toEqual([
      { path: 'settings.rules[0].serve', message: 'm' },
      { path: 'settings[1]', message: 'n' },
      { path: 'settings', message: 'o' },
    ]);
  });

  it('explain a version conflict with both versions', () => {
    const e = new VersionConflictError(3, 5, 'flag "a"');
    expect(e.status).toBe(409);
    expect(e.message).toBe('flag "a" is at version 5, not 3; reload it and apply your change again');
  });

  it('joins paths', () => {
    expect(joinPath('', 'a')).toBe('a');
    expect(joinPath('a', undefined)).toBe('a');
    expect(joinPath('a', 'b')).toBe('a.b');
  });
});
