import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, verify, type JsonWebKey } from 'node:crypto';
import { generateSigningKey, jwkThumbprint, publicJwkOf, signCompactJws } from './signing-key.crypto';

/** RFC 7638 §3.1: the example RSA key and its thumbprint. */
const RFC7638_RSA = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};
const RFC7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

/** RFC 8037 appendix A.1-A.5: an Ed25519 key, its thumbprint, and a signature over a known payload. */
const RFC8037_KEY = { kty: 'OKP', crv: 'Ed25519', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
const RFC8037_THUMBPRINT = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';
const RFC8037_JWS =
  'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';

/** Verifies a compact JWS with node:crypto alone, from the public JWK (what a relying party does). */
function verifyCompact(jws: string, jwk: JsonWebKey, alg: 'EdDSA' | 'ES256'): boolean {
  const [h, p, s] = jws.split('.');
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  const sig = Buffer.from(s, 'base64url');
  return alg === 'EdDSA' ? verify(null, input, key, sig) : verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
}

describe('jwkThumbprint (RFC 7638)', () => {
  it('matches the RSA example of RFC 7638 §3.1, whatever other members the JWK has', () => {
    expect(jwkThumbprint(RFC7638_RSA)).toBe(RFC7638_THUMBPRINT);
    const { alg: _alg, kid: _kid, ...bare } = RFC7638_RSA;
    expect(jwkThumbprint(bare)).toBe(RFC7638_THUMBPRINT);
  });

  it('matches the Ed25519 example of RFC 8037 A.3, and ignores the private member d', () => {
    expect(jwkThumbprint(RFC8037_KEY)).toBe(RFC8037_THUMBPRINT);
    const { d: _d, ...pub } = RFC8037_KEY;
    expect(jwkThumbprint(pub)).toBe(RFC8037_THUMBPRINT);
  });

  it('hashes the required members of an EC key in lexicographic order', () => {
    const jwk = { y: 'yy', x: 'xx', kty: 'EC', crv: 'P-256', kid: 'ignored' };
    // The same hash as for the hand-written canonical JSON.
    expect(jwkThumbprint(jwk)).toBe(createHash('sha256').update('{"crv":"P-256","kty":"EC","x":"xx","y":"yy"}').digest('base64url'));
  });

  it('refuses unsupported key types and missing members', () => {
    expect(() => jwkThumbprint({ kty: 'XYZ' })).toThrow('JWK thumbprints of key type XYZ are not supported');
    expect(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'a' })).toThrow('a EC JWK needs the member "y"');
  });
});

describe('signCompactJws', () => {
  it('reproduces the Ed25519 JWS of RFC 8037 A.4 byte for byte (Ed25519 is deterministic)', () => {
    const key = createPrivateKey({ key: RFC8037_KEY, format: 'jwk' });
    expect(signCompactJws({ alg: 'EdDSA' }, Buffer.from('Example of Ed25519 signing'), key, 'EdDSA')).toBe(RFC8037_JWS);
    // A.5: it verifies against the public key.
    const { d: _d, ...pub } = RFC8037_KEY;
    expect(verifyCompact(RFC8037_JWS, pub, 'EdDSA')).toBe(true);
  });

  it('writes ES256 signatures as 64-byte r || s (RFC 7518 §3.4), not DER', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jws = signCompactJws({ alg: 'ES256', typ: 'JWT' }, Buffer.from('{"sub":"a"}'), privateKey, 'ES256');
    const [h, p, s] = jws.split('.');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'ES256', typ: 'JWT' });
    expect(Buffer.from(p, 'base64url').toString()).toBe('{"sub":"a"}');
    expect(Buffer.from(s, 'base64url')).toHaveLength(64);
    expect(verifyCompact(jws, publicKey.export({ format: 'jwk' }), 'ES256')).toBe(true);
    expect(verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'))).toBe(false);
  });

  it('refuses a header whose alg is not the key algorithm', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(() => signCompactJws({ alg: 'ES256' }, Buffer.from('x'), privateKey, 'EdDSA')).toThrow('the JWS header names alg ES256, the key is EdDSA');
  });
});

describe('generateSigningKey', () => {
  it.each(['EdDSA', 'ES256'] as const)('%s: a public JWK with its thumbprint as kid, and the matching PKCS#8 private key', (alg) => {
    const g = generateSigningKey(alg);
    expect(g.algorithm).toBe(alg);
    expect(g.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(g.publicJwk).toEqual(
      alg === 'EdDSA'
        ? { kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: g.kid, use: 'sig', alg }
        : { kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: g.kid, use: 'sig', alg },
    );
    expect(jwkThumbprint(g.publicJwk as unknown as Record<string, unknown>)).toBe(g.kid);
    const priv = createPrivateKey({ key: g.pkcs8, format: 'der', type: 'pkcs8' });
    const jws = signCompactJws({ alg, kid: g.kid }, Buffer.from('{"n":1}'), priv, alg);
    expect(verifyCompact(jws, g.publicJwk as unknown as JsonWebKey, alg)).toBe(true);
    // A changed payload no longer verifies.
    const [h, , s] = jws.split('.');
    expect(verifyCompact(`${h}.${Buffer.from('{"n":2}').toString('base64url')}.${s}`, g.publicJwk as unknown as JsonWebKey, alg)).toBe(false);
    // No private member in what gets published.
    expect(Object.keys(g.publicJwk)).not.toContain('d');
  });

  it('draws a new key each time', () => {
    expect(generateSigningKey('EdDSA').kid).not.toBe(generateSigningKey('EdDSA').kid);
  });
});

describe('publicJwkOf', () => {
  it('refuses private keys and keys of another curve than the algorithm', () => {
    const ed = generateKeyPairSync('ed25519');
    expect(() => publicJwkOf(ed.privateKey, 'EdDSA')).toThrow('publicJwkOf needs a public key');
    expect(() => publicJwkOf(ed.publicKey, 'ES256')).toThrow('ES256 keys must be P-256');
    expect(() => publicJwkOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey, 'ES256')).toThrow('ES256 keys must be P-256');
    expect(() => publicJwkOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 'EdDSA')).toThrow('EdDSA keys must be Ed25519');
  });
});
