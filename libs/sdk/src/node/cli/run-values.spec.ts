import { sameValues, secretsPayload, type RunValues } from './run-values';

const v = (secrets: Record<string, string>, config: Record<string, unknown> = {}): RunValues => ({
  secrets: new Map(Object.entries(secrets)),
  config: new Map(Object.entries(config)),
});

describe('the pipe/socket payload', () => {
  it('is one JSON document with secrets by path and config values as JSON', () => {
    const text = secretsPayload(v({ 'db/password': 'p"w\n', 'payments/stripe/api-key': 'sk_1' }, { 'checkout.limits': { maxItems: 50 }, 'checkout.on': false }));
    expect(text).toBe('{"secrets":{"db/password":"p\\"w\\n","payments/stripe/api-key":"sk_1"},"config":{"checkout.limits":{"maxItems":50},"checkout.on":false}}');
    expect(JSON.parse(text)).toEqual({ secrets: { 'db/password': 'p"w\n', 'payments/stripe/api-key': 'sk_1' }, config: { 'checkout.limits': { maxItems: 50 }, 'checkout.on': false } });
  });

  it('is {"secrets":{},"config":{}} when nothing is selected', () => {
    expect(secretsPayload(v({}))).toBe('{"secrets":{},"config":{}}');
  });
});

describe('sameValues', () => {
  it('compares secrets and config values', () => {
    expect(sameValues(v({ a: '1' }, { c: { x: 1 } }), v({ a: '1' }, { c: { x: 1 } }))).toBe(true);
    expect(sameValues(v({ a: '1' }), v({ a: '2' }))).toBe(false);
    expect(sameValues(v({ a: '1' }), v({ a: '1', b: '1' }))).toBe(false);
    expect(sameValues(v({ a: '1' }), v({ b: '1' }))).toBe(false);
    expect(sameValues(v({}, { c: { x: 1 } }), v({}, { c: { x: 2 } }))).toBe(false);
    expect(sameValues(v({}, { c: null }), v({}, { d: null }))).toBe(false);
  });
});
