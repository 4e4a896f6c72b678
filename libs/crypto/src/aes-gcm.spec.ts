import { DecryptionError } from './crypto.errors';
import { gcmDecrypt, gcmEncrypt } from './aes-gcm';

// Known answers: the AES-256 test cases 13-18 of "The Galois/Counter Mode of Operation (GCM)",
// D. McGrew and J. Viega, revised submission to NIST (2005), Appendix B "AES Test Vectors".
// 13-15 use a 96-bit IV without AAD, 16 adds 20 bytes of AAD, 17 uses a 64-bit IV, 18 a 480-bit IV.
const hex = (text: string) => Buffer.from(text, 'hex');
const K = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const P =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
  '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const P60 = P.slice(0, 120);
const A = 'feedfacedeadbeeffeedfacedeadbeefabaddad2';

const vectors = [
  { name: 'test case 13', key: '00'.repeat(32), iv: '00'.repeat(12), plaintext: '', aad: '', ciphertext: '', tag: '530f8afbc74536b9a963b4f1c4cb738b' },
  {
    name: 'test case 14',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    plaintext: '00'.repeat(16),
    aad: '',
    ciphertext: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    name: 'test case 15',
    key: K,
    iv: 'cafebabefacedbaddecaf888',
    plaintext: P,
    aad: '',
    ciphertext:
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad',
    tag: 'b094dac5d93471bdec1a502270e3cc6c',
  },
  {
    name: 'test case 16 (with AAD)',
    key: K,
    iv: 'cafebabefacedbaddecaf888',
    plaintext: P60,
    aad: A,
    ciphertext:
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
  {
    name: 'test case 17 (64-bit IV, with AAD)',
    key: K,
    iv: 'cafebabefacedbad',
    plaintext: P60,
    aad: A,
    ciphertext:
      'c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0' +
      'feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f',
    tag: '3a337dbf46a792c45e454913fe2ea8f2',
  },
  {
    name: 'test case 18 (480-bit IV, with AAD)',
    key: K,
    iv:
      '9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728' +
      'c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b',
    plaintext: P60,
    aad: A,
    ciphertext:
      '5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf4' +
      '0fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f',
    tag: 'a44a8266ee1c8eb0c8b5d4cf5ae9f19a',
  },
];

describe('AES-256-GCM known answers (McGrew & Viega, test cases 13-18)', () => {
  it.each(vectors)('$name: encrypts to the published ciphertext and tag', (v) => {
    const sealed = gcmEncrypt(hex(v.key), hex(v.iv), hex(v.plaintext), hex(v.aad));
    expect(sealed.ciphertext.toString('hex')).toBe(v.ciphertext);
    expect(sealed.tag.toString('hex')).toBe(v.tag);
  });

  it.each(vectors)('$name: decrypts the published ciphertext', (v) => {
    const plaintext = gcmDecrypt(hex(v.key), hex(v.iv), hex(v.ciphertext), hex(v.tag), hex(v.aad));
    expect(plaintext.toString('hex')).toBe(v.plaintext);
  });
});

describe('gcmDecrypt refusals', () => {
  const v = vectors[3];
  const open = (changes: Partial<typeof v>) => {
    const c = { ...v, ...changes };
    return () => gcmDecrypt(hex(c.key), hex(c.iv), hex(c.ciphertext), hex(c.tag), hex(c.aad));
  };
  const flipFirst = (text: string) => (parseInt(text.slice(0, 2), 16) ^ 0x01).toString(16).padStart(2, '0') + text.slice(2);

  it.each([
    ['a flipped ciphertext bit', { ciphertext: flipFirst(v.ciphertext) }],
    ['a flipped tag bit', { tag: flipFirst(v.tag) }],
    ['other AAD', { aad: flipFirst(v.aad) }],
    ['no AAD', { aad: '' }],
    ['another IV', { iv: flipFirst(v.iv) }],
    ['a truncated (12-byte) tag, which Node alone would accept', { tag: v.tag.slice(0, 24) }],
  ])('refuses %s as authentication-failed', (_label, changes) => {
    expect(open(changes)).toThrow(DecryptionError);
    expect(open(changes)).toThrow(expect.objectContaining({ reason: 'authentication-failed' }));
  });
});
