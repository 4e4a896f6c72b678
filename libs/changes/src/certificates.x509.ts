// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, generateKeyPair, randomBytes, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import type { ErrorDetail } from '@flagstream/errors';
import type { IssuedKeyType, SubjectAltName } from '@flagstream/persistence';

// Node's WebCrypto, explicitly: the library's default depends on globals a test sandbox may lack.
x509.cryptoProvider.set(webcrypto);

const generateKeyPairAsync = promisify(generateKeyPair);

/** An uploaded chain is at most this many characters of PEM, and at most this many certificates. */
export const MAX_CHAIN_PEM_CHARS = 32 * 1024;
export const MAX_CHAIN_LENGTH = 10;
/** An uploaded private key is at most this many characters of PEM. */
export const MAX_PRIVATE_KEY_PEM_CHARS = 16 * 1024;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/g;
const CA_SIGNING: webcrypto.EcdsaParams & webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** What is parsed from one certificate (all public). */
export interface ParsedCertificate {
  /** RFC 4514-style distinguished name, e.g. `CN=api.example.com, O=Example`. */
  subject: string;
  issuer: string;
  /** Upper-case hex, as node:crypto shows it. */
  serialNumber: string;
  /** SHA-256 of the DER, colon-separated upper-case hex. */
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  subjectAltNames: SubjectAltName[];
  /** `ECDSA P-256`, `RSA 2048`, `Ed25519`, … */
  keyType: string;
  isCa: boolean;
}

/** A validated upload: the chain re-encoded from DER (nothing else of the input), and the key as PKCS#8 DER. */
export interface ValidatedUpload {
  chainPem: string;
  chain: ParsedCertificate[];
  /** PKCS#8 DER of the private key: the caller encrypts it and wipes it. */
  pkcs8: Buffer;
}

/** What an upload gives: the chain (leaf first) and the leaf's private key, both PEM. */
export interface UploadInput {
  certificate: unknown;
  privateKey: unknown;
  /** Store even though a certificate of the chain has expired. */
  allowExpired?: boolean;
}

/** A certificate and its private key as generated here (the CA's, or one it issued). */
export interface GeneratedCertificate {
  /** The certificate, or for an issued one the chain leaf first (the leaf, then the CA). */
  chainPem: string;
  chain: ParsedCertificate[];
  /** PKCS#8 DER of the new private key: the caller encrypts it and wipes it. */
  pkcs8: Buffer;
}

/** What the CA issues: names, lifetime and key type (validated by `issueSpecProblems`). */
export interface IssueSpec {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  lifetimeSeconds: number;
  keyType: IssuedKeyType;
}

/** The CA that signs: its certificate (PEM) and private key (PKCS#8 DER). */
export interface SigningAuthority {
  certificatePem: string;
  pkcs8: Buffer;
}

/** Parses one certificate: validation with node:crypto, names and SANs with @peculiar/x509. */
export function describeCertificate(cert: X509Certificate): ParsedCertificate {
  const p = new x509.X509Certificate(new Uint8Array(cert.raw));
  const san = p.getExtension(x509.SubjectAlternativeNameExtension);
  return {
    subject: p.subject,
    issuer: p.issuer,
    serialNumber: cert.serialNumber.toUpperCase(),
    fingerprint256: cert.fingerprint256,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    subjectAltNames: san ? san.names.items.map((n) => ({ type: n.type, value: n.value })) : [],
    keyType: keyTypeOf(cert.publicKey),
    isCa: cert.ca,
  };
}

/** A human name for a key: `ECDSA P-256`, `RSA 2048`, `Ed25519`. */
export function keyTypeOf(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
      return `ECDSA ${curves[d.namedCurve ?? ''] ?? d.namedCurve ?? 'unknown curve'}`;
    }
    case 'rsa':
    case 'rsa-pss':
      return `${key.asymmetricKeyType === 'rsa' ? 'RSA' : 'RSA-PSS'} ${d.modulusLength ?? ''}`.trim();
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return key.asymmetricKeyType ?? 'unknown';
  }
}

/**
 * Checks an upload (pure apart from the clock): the chain parses, each certificate is issued by
 * the next one (issuer name and signature), the issuers are CAs, none has expired at `now` unless
 * `allowExpired`, and the private key is the leaf's. Problems name the field and the position in
 * the chain (`certificate[1]`); no message holds key material.
 */
export function validateUpload(input: UploadInput, now: Date): { value: ValidatedUpload | null; problems: ErrorDetail[] } {
  const problems: ErrorDetail[] = [];
  const certs = parseChain(input.certificate, problems);
  const key = parsePrivateKey(input.privateKey, problems);
  if (!certs || problems.length) return { value: null, problems };
  for (let i = 0; i + 1 < certs.length; i++) {
    const [child, parent] = [certs[i], certs[i + 1]];
    if (!child.checkIssued(parent)) {
      problems.push({ path: `certificate[${i}]`, message: `is not issued by certificate[${i + 1}]: its issuer is "${oneLine(child.issuer)}", the next certificate's subject is "${oneLine(parent.subject)}" (give the chain leaf first, each certificate followed by its issuer)` });
    } else if (!child.verify(parent.publicKey)) {
      problems.push({ path: `certificate[${i}]`, message: `its signature does not verify with the public key of certificate[${i + 1}] ("${oneLine(parent.subject)}")` });
    } else if (!parent.ca) {
      problems.push({ path: `certificate[${i + 1}]`, message: 'issues certificate[' + i + '] but is not a CA certificate (basicConstraints CA:TRUE)' });
    }
  }
  if (!input.allowExpired) {
    certs.forEach((c, i) => {
      const notAfter = describeCertificate(c).notAfter;
      if (notAfter.getTime() <= now.getTime()) problems.push({ path: `certificate[${i}]`, message: `expired at ${notAfter.toISOString()}: renew it, or pass "allowExpired": true to store it anyway` });
    });
  }
  if (key && !certs[0].checkPrivateKey(key)) {
    problems.push({ path: 'privateKey', message: 'does not match the certificate: it is not the private key of certificate[0] (the leaf)' });
  }
  if (problems.length || !key) return { value: null, problems };
  return {
    value: { chainPem: certs.map((c) => c.toString()).join(''), chain: certs.map(describeCertificate), pkcs8: key.export({ format: 'der', type: 'pkcs8' }) },
    problems,
  };
}

/** Splits and parses the PEM chain, adding problems for what is wrong; null when unusable. */
function parseChain(text: unknown, problems: ErrorDetail[]): X509Certificate[] | null {
  if (typeof text !== 'string' || !text.trim()) {
    problems.push({ path: 'certificate', message: 'must be the PEM certificate chain, leaf first' });
    return null;
  }
  if (text.length > MAX_CHAIN_PEM_CHARS) {
    problems.push({ path: 'certificate', message: `must be at most ${MAX_CHAIN_PEM_CHARS} characters of PEM` });
    return null;
  }
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.some((b) => /PRIVATE KEY/.test(b[1]))) {
    // Refused before anything is parsed, so no part of it reaches a message, a row or a log.
    problems.push({ path: 'certificate', message: 'holds a private key block: send the private key in "privateKey" only' });
    return null;
  }
  const certBlocks = blocks.filter((b) => b[1] === 'CERTIFICATE');
  if (!certBlocks.length) {
    problems.push({ path: 'certificate', message: 'holds no "-----BEGIN CERTIFICATE-----" block: give the PEM chain, leaf first' });
    return null;
  }
  if (certBlocks.length > MAX_CHAIN_LENGTH) {
    problems.push({ path: 'certificate', message: `holds ${certBlocks.length} certificates; at most ${MAX_CHAIN_LENGTH}` });
    return null;
  }
  const out: X509Certificate[] = [];
  certBlocks.forEach((b, i) => {
    try {
      out.push(new X509Certificate(b[0]));
    } catch {
      problems.push({ path: `certificate[${i}]`, message: 'is not a valid X.509 certificate' });
    }
  });
  return out.length === certBlocks.length ? out : null;
}

/** Reads the private key (PKCS#8, PKCS#1 or SEC1 PEM); never echoes any of it. */
function parsePrivateKey(text: unknown, problems: ErrorDetail[]): KeyObject | null {
  if (typeof text !== 'string' || !text.trim()) {
    problems.push({ path: 'privateKey', message: 'must be the PEM private key of the leaf certificate' });
    return null;
  }
  if (text.length > MAX_PRIVATE_KEY_PEM_CHARS) {
    problems.push({ path: 'privateKey', message: `must be at most ${MAX_PRIVATE_KEY_PEM_CHARS} characters of PEM` });
    return null;
  }
  if (/ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(text)) {
    problems.push({ path: 'privateKey', message: 'is encrypted with a passphrase: give it unencrypted (it is encrypted at rest here)' });
    return null;
  }
  const blocks = [...text.matchAll(PEM_BLOCK)].filter((b) => /PRIVATE KEY$/.test(b[1]));
  if (blocks.length !== 1) {
    problems.push({ path: 'privateKey', message: 'must hold exactly one PEM private key block (PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC1 "EC PRIVATE KEY")' });
    return null;
  }
  try {
    return createPrivateKey({ key: blocks[0][0], format: 'pem' });
  } catch {
    problems.push({ path: 'privateKey', message: 'is not a private key this server can read (PKCS#8, PKCS#1 RSA or SEC1 EC, in PEM)' });
    return null;
  }
}

/** A self-signed ECDSA P-256 CA certificate: `CN=<name>`, CA:TRUE with path length 0, keyCertSign and cRLSign. */
export async function createAuthorityCertificate(name: string, lifetimeDays: number, now: Date): Promise<GeneratedCertificate> {
  const keys = (await webcrypto.subtle.generateKey(CA_SIGNING, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [name] }],
    notBefore: now,
    notAfter: new Date(now.getTime() + lifetimeDays * 86_400_000),
    signingAlgorithm: CA_SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pem = cert.toString('pem');
  const parsed = describeCertificate(new X509Certificate(pem));
  assertSubject(parsed, name);
  return { chainPem: normalisedPem(pem), chain: [parsed], pkcs8: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

/**
 * A certificate issued by the CA with a private key generated here: `CN=<commonName>`, the SANs,
 * CA:FALSE, serverAuth and clientAuth, valid from `now` for the lifetime (never past the CA's
 * own expiry: the caller checks). The chain is the leaf, then the CA certificate.
 */
export async function issueCertificate(ca: SigningAuthority, spec: IssueSpec, now: Date, notAfter: Date): Promise<GeneratedCertificate> {
  const caCert = new x509.X509Certificate(ca.certificatePem);
  const signingKey = await webcrypto.subtle.importKey('pkcs8', ca.pkcs8, CA_SIGNING, false, ['sign']);
  const { publicKey, privateKey } = await generateLeafKey(spec.keyType);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const rsa = spec.keyType.startsWith('RSA');
  const names = [...spec.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...spec.ipAddresses.map((value) => ({ type: 'ip' as const, value }))];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [spec.commonName] }],
    issuer: caCert.subjectName,
    notBefore: now,
    notAfter,
    signingAlgorithm: CA_SIGNING,
    publicKey: spki,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0), true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(spki),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  const leafPem = cert.toString('pem');
  const chain = [new X509Certificate(leafPem), new X509Certificate(ca.certificatePem)];
  const parsed = chain.map(describeCertificate);
  assertSubject(parsed[0], spec.commonName);
  return {
    chainPem: chain.map((c) => c.toString()).join(''),
    chain: parsed,
    pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }),
  };
}

/** The PKCS#8 PEM of a private key (what a published secret carries). */
export function pkcs8Pem(der: Buffer): string {
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function generateLeafKey(type: IssuedKeyType): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  switch (type) {
    case 'ECDSA-P256':
      return generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    case 'ECDSA-P384':
      return generateKeyPairAsync('ec', { namedCurve: 'P-384' });
    case 'RSA-2048':
      return generateKeyPairAsync('rsa', { modulusLength: 2048 });
    case 'RSA-3072':
      return generateKeyPairAsync('rsa', { modulusLength: 3072 });
  }
}

/** 128 random bits, positive and without a leading zero byte (RFC 5280 §4.1.2.2: at most 20 octets). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x40;
  return b.toString('hex');
}

/** The library builds names from text: make sure the name came out as one CN holding exactly the value. */
function assertSubject(parsed: ParsedCertificate, commonName: string): void {
  if (parsed.subject !== `CN=${commonName}`) throw new Error('the generated certificate does not carry the requested common name');
}

function normalisedPem(pem: string): string {
  return new X509Certificate(pem).toString();
}

/** node:crypto shows multi-valued names one per line. */
function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}
