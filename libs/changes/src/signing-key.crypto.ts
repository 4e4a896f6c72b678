import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { PublicSigningJwk, SigningAlgorithm } from '@flagstream/persistence';

/** The members RFC 7638 §3.2 hashes for each key type (OKP: RFC 8037 §2), in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
  oct: ['k', 'kty'],
};

/**
 * The RFC 7638 JWK thumbprint: base64url(SHA-256) of the key's required public members as JSON
 * with no whitespace, in lexicographic order. Used as the `kid`, so that a key id is derived from
 * the key and the same key can never appear under two ids.
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const kty = jwk.kty;
  const members = typeof kty === 'string' ? THUMBPRINT_MEMBERS[kty] : undefined;
  if (!members) throw new Error(`JWK thumbprints of key type ${String(kty)} are not supported`);
  const required: Record<string, string> = {};
  for (const m of members) {
    const v = jwk[m];
    if (typeof v !== 'string' || v === '') throw new Error(`a ${String(kty)} JWK needs the member "${m}"`);
    required[m] = v;
  }
  // Insertion order is the member order above, so JSON.stringify writes them sorted.
  return createHash('sha256').update(JSON.stringify(required), 'utf8').digest('base64url');
}

/** A freshly generated key pair; the caller encrypts `pkcs8` and wipes it. */
export interface GeneratedSigningKey {
  kid: string;
  algorithm: SigningAlgorithm;
  publicJwk: PublicSigningJwk;
  /** The private key, PKCS#8 DER: plaintext key material. */
  pkcs8: Buffer;
}

/** Generates an Ed25519 (`EdDSA`) or P-256 (`ES256`) key pair with node:crypto. */
export function generateSigningKey(algorithm: SigningAlgorithm): GeneratedSigningKey {
  const { publicKey, privateKey } = algorithm === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicJwkOf(publicKey, algorithm);
  return { kid: publicJwk.kid, algorithm, publicJwk, pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }) };
}

/** The public JWK of a key as the JWKS publishes it: key members, then `kid`, `use` and `alg`. */
export function publicJwkOf(publicKey: KeyObject, algorithm: SigningAlgorithm): PublicSigningJwk {
  if (publicKey.type !== 'public') throw new Error('publicJwkOf needs a public key');
  const jwk = publicKey.export({ format: 'jwk' });
  if (algorithm === 'EdDSA') {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) throw new Error('EdDSA keys must be Ed25519');
    return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwkThumbprint(jwk), use: 'sig', alg: 'EdDSA' };
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) throw new Error('ES256 keys must be P-256');
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid: jwkThumbprint(jwk), use: 'sig', alg: 'ES256' };
}

/**
 * A JWS in compact serialization (RFC 7515 §7.1): base64url(header).base64url(payload).signature.
 * ES256 signatures are the 64-byte `r || s` form JWS requires (RFC 7518 §3.4), not DER; Ed25519
 * is RFC 8037 §3.1. The header is written as given (its `alg` must match `algorithm`).
 */
export function signCompactJws(header: Readonly<Record<string, unknown>>, payload: Uint8Array, privateKey: KeyObject, algorithm: SigningAlgorithm): string {
  if (header.alg !== algorithm) throw new Error(`the JWS header names alg ${String(header.alg)}, the key is ${algorithm}`);
  const input = `${Buffer.from(JSON.stringify(header), 'utf8').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  const signature = algorithm === 'EdDSA' ? sign(null, Buffer.from(input, 'ascii'), privateKey) : sign('sha256', Buffer.from(input, 'ascii'), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
