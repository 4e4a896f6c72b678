import { CryptoUsageError } from './crypto.errors';
import { payloadAad, wrapAad } from './envelope.aad';
import type { EnvelopeIdentity } from './envelope.aad';

const identity: EnvelopeIdentity = { purpose: 'secret', project: 'shop', environment: 'prod', path: 'db/password', version: 3 };

const field = (bytes: Buffer) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

describe('payloadAad', () => {
  it('is the length-prefixed label, project, environment, path and 8-byte version', () => {
    const expected = Buffer.concat([
      field(Buffer.from('flagstream/secret/v1')),
      field(Buffer.from('shop')),
      field(Buffer.from('prod')),
      field(Buffer.from('db/password')),
      field(Buffer.from('0000000000000003', 'hex')),
    ]);
    expect(payloadAad(identity).toString('hex')).toBe(expected.toString('hex'));
  });

  it('encodes a null environment as an empty field', () => {
    const aad = payloadAad({ ...identity, environment: null });
    expect(aad.subarray(4 + 20 + 4 + 4, 4 + 20 + 4 + 4 + 4).readUInt32BE()).toBe(0);
  });

  it('keeps identities apart that a separator-joined encoding would confuse', () => {
    const a = payloadAad({ ...identity, project: 'shop/prod', environment: 'db', path: 'password' });
    const b = payloadAad({ ...identity, project: 'shop', environment: 'prod/db', path: 'password' });
    const c = payloadAad(identity);
    expect(new Set([a, b, c].map((x) => x.toString('hex'))).size).toBe(3);
  });

  it('differs per purpose, so a ciphertext of one purpose cannot stand in for another', () => {
    expect(payloadAad({ ...identity, purpose: 'signing-key' }).equals(payloadAad(identity))).toBe(false);
  });

  it.each([
    ['purpose with a slash', { purpose: 'secret/v2' }, 'identity.purpose'],
    ['upper-case purpose', { purpose: 'Secret' }, 'identity.purpose'],
    ['empty project', { project: '' }, 'identity.project'],
    ['empty environment (use null for none)', { environment: '' }, 'identity.environment'],
    ['empty path', { path: '' }, 'identity.path'],
    ['a lone surrogate in the path', { path: 'a\ud800' }, 'identity.path'],
    ['a negative version', { version: -1 }, 'identity.version'],
    ['a fractional version', { version: 1.5 }, 'identity.version'],
  ])('refuses %s', (_label, change, field) => {
    const bad = { ...identity, ...change } as EnvelopeIdentity;
    expect(() => payloadAad(bad)).toThrow(CryptoUsageError);
    expect(() => payloadAad(bad)).toThrow(field);
  });
});

describe('wrapAad', () => {
  it('is the payload AAD followed by the 4-byte KEK version', () => {
    const aad = wrapAad(identity, 258);
    expect(aad.subarray(0, -4).equals(payloadAad(identity))).toBe(true);
    expect(aad.subarray(-4).toString('hex')).toBe('00000102');
  });
});
