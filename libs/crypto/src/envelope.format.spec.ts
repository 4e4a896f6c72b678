import { randomBytes } from 'node:crypto';
import { DecryptionError } from './crypto.errors';
import { decodeEnvelope, encodeEnvelope, envelopeFromString, envelopeToString } from './envelope.format';
import type { Envelope } from './envelope.format';

const sample: Envelope = {
  kekVersion: 0x01020304,
  wrappedKey: Buffer.from('aabbcc', 'hex'),
  nonce: Buffer.from('00112233445566778899aabb', 'hex'),
  ciphertext: Buffer.from('c1c2', 'hex'),
  tag: Buffer.from('f0'.repeat(16), 'hex'),
};

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (error instanceof DecryptionError) return error.reason;
    throw error;
  }
  return 'accepted';
};

describe('encodeEnvelope / decodeEnvelope', () => {
  it('writes the documented layout', () => {
    expect(encodeEnvelope(sample).toString('hex')).toBe(
      '465345' + '01' + '01020304' + '0003' + '00000002' + 'aabbcc' + '00112233445566778899aabb' + 'c1c2' + 'f0'.repeat(16),
    );
  });

  it('round-trips, including an empty ciphertext', () => {
    for (const envelope of [sample, { ...sample, ciphertext: Buffer.alloc(0) }]) {
      expect(decodeEnvelope(encodeEnvelope(envelope))).toEqual(envelope);
    }
  });

  it('decodes from a view into a larger buffer', () => {
    const encoded = encodeEnvelope(sample);
    const padded = Buffer.concat([Buffer.from('xx'), encoded, Buffer.from('yy')]);
    expect(decodeEnvelope(padded.subarray(2, 2 + encoded.length))).toEqual(sample);
  });

  it('refuses every truncation as malformed', () => {
    const encoded = encodeEnvelope(sample);
    const reasons = new Set<string>();
    for (let length = 0; length < encoded.length; length += 1) {
      reasons.add(reasonOf(() => decodeEnvelope(encoded.subarray(0, length))));
    }
    expect([...reasons]).toEqual(['malformed']);
  });

  it.each([
    ['other magic bytes', (b: Buffer) => b.write('FSX', 0, 'ascii'), 'malformed'],
    ['format version 2', (b: Buffer) => b.writeUInt8(2, 3), 'unsupported-format'],
    ['format version 0', (b: Buffer) => b.writeUInt8(0, 3), 'unsupported-format'],
    ['KEK version 0', (b: Buffer) => b.writeUInt32BE(0, 4), 'malformed'],
    ['a wrapped key length of 0', (b: Buffer) => b.writeUInt16BE(0, 8), 'malformed'],
    ['a wrapped key length past the end', (b: Buffer) => b.writeUInt16BE(0xffff, 8), 'malformed'],
    ['a ciphertext length one short', (b: Buffer) => b.writeUInt32BE(1, 10), 'malformed'],
    ['a ciphertext length one long', (b: Buffer) => b.writeUInt32BE(3, 10), 'malformed'],
  ])('refuses %s', (_label, damage, reason) => {
    const encoded = encodeEnvelope(sample);
    damage(encoded);
    expect(reasonOf(() => decodeEnvelope(encoded))).toBe(reason);
  });

  it('refuses trailing bytes as malformed', () => {
    expect(reasonOf(() => decodeEnvelope(Buffer.concat([encodeEnvelope(sample), Buffer.from([0])])))).toBe('malformed');
  });

  it('refuses what is not bytes as malformed', () => {
    expect(reasonOf(() => decodeEnvelope('RlNF' as unknown as Uint8Array))).toBe('malformed');
  });

  it('only ever throws DecryptionError on random input', () => {
    for (let i = 0; i < 2000; i += 1) {
      const bytes = randomBytes(i % 90);
      if (i % 2 === 0 && bytes.length >= 4) Buffer.from('FSE\x01', 'latin1').copy(bytes);
      expect(['malformed', 'unsupported-format', 'accepted']).toContain(reasonOf(() => decodeEnvelope(bytes)));
    }
  });

  it.each([
    ['KEK version 0', { kekVersion: 0 }],
    ['an empty wrapped key', { wrappedKey: Buffer.alloc(0) }],
    ['an 8-byte nonce', { nonce: Buffer.alloc(8) }],
    ['a 12-byte tag', { tag: Buffer.alloc(12) }],
  ])('will not encode %s', (_label, change) => {
    expect(() => encodeEnvelope({ ...sample, ...change })).toThrow(/must be/);
  });
});

describe('base64url text form', () => {
  it('round-trips', () => {
    const encoded = encodeEnvelope(sample);
    const text = envelopeToString(encoded);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(envelopeFromString(text).equals(encoded)).toBe(true);
  });

  it.each([
    ['padding', `${envelopeToString(encodeEnvelope(sample))}=`],
    ['standard-alphabet characters', 'RlNF+/'],
    ['white space', 'RlNF AQ'],
    ['a non-canonical final character (RlM is canonical)', 'RlN'],
  ])('refuses %s as malformed', (_label, text) => {
    expect(reasonOf(() => envelopeFromString(text))).toBe('malformed');
  });
});
