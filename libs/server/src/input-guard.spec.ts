import { findUnsafeInput } from './input-guard';

describe('findUnsafeInput', () => {
  it('accepts ordinary JSON, including nested constructor fields in user data', () => {
    expect(findUnsafeInput({ key: 'a', variations: [{ key: 'v', value: { constructor: 1, prototype: 'x' } }] })).toEqual([]);
    expect(findUnsafeInput(undefined)).toEqual([]);
  });

  it('reports NUL characters with their paths', () => {
    expect(findUnsafeInput({ name: 'a\u0000b', rules: [{ clauses: [{ values: ['x', 'y\u0000'] }] }] })).toEqual([
      { path: 'name', message: 'must not contain the NUL character (U+0000)' },
      { path: 'rules[0].clauses[0].values[1]', message: 'must not contain the NUL character (U+0000)' },
    ]);
  });

  it('reports __proto__ anywhere and constructor/prototype at the top as unknown fields', () => {
    const body = JSON.parse('{"key":"p","__proto__":{"role":"owner"},"constructor":1,"nested":{"__proto__":{}}}') as unknown;
    expect(findUnsafeInput(body)).toEqual([
      { path: '__proto__', message: 'unknown field' },
      { path: 'constructor', message: 'unknown field' },
      { path: 'nested.__proto__', message: 'unknown field' },
    ]);
  });
});
