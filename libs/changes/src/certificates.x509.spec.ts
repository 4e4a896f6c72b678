import 'reflect-metadata';
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createAuthorityCertificate, describeCertificate, issueCertificate, pkcs8Pem, validateUpload } from './certificates.x509';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const DAY = 86_400_000;
const EC: webcrypto.EcKeyImportParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

interface Made {
  pem: string;
  key: KeyObject;
}

/** A certificate made independently of the code under test (the library directly), signed by `issuer` or itself. */
async function make(cn: string, opts: { issuer?: Made; issuerName?: string; ca?: boolean; days?: [number, number]; key?: KeyObject; sans?: string[] } = {}): Promise<Made> {
  const key = opts.key ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const spki = createPublicKeyDer(key);
  const signer = opts.issuer?.key ?? key;
  const signingKey = await webcrypto.subtle.importKey('pkcs8', signer.export({ format: 'der', type: 'pkcs8' }), EC, false, ['sign']);
  const [from, to] = opts.days ?? [-1, 90];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `0${Math.floor(Math.random() * 1e9).toString(16)}`.slice(-8).replace(/^0/, '1'),
    subject: [{ CN: [cn] }],
    issuer: opts.issuerName ? [{ CN: [opts.issuerName] }] : opts.issuer ? new x509.X509Certificate(opts.issuer.pem).subjectName : [{ CN: [cn] }],
    notBefore: new Date(NOW.getTime() + from * DAY),
    notAfter: new Date(NOW.getTime() + to * DAY),
    signingAlgorithm: EC,
    publicKey: spki,
    signingKey,
    extensions: [new x509.BasicConstraintsExtension(opts.ca ?? false, undefined, true), ...(opts.sans ? [new x509.SubjectAlternativeNameExtension(opts.sans.map((value) => ({ type: 'dns' as const, value })))] : [])],
  });
  return { pem: cert.toString('pem'), key };
}

function createPublicKeyDer(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' });
}

const pem = (k: KeyObject, type: 'pkcs8' | 'pkcs1' | 'sec1' = 'pkcs8') => k.export({ format: 'pem', type } as never).toString();
/** The base64 body of a PEM block: what must never appear in a message. */
const body = (p: string) => p.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

describe('validateUpload', () => {
  let root: Made;
  let intermediate: Made;
  let leaf: Made;

  beforeAll(async () => {
    root = await make('Test Root', { ca: true, days: [-10, 3650] });
    intermediate = await make('Test Intermediate', { ca: true, issuer: root, days: [-5, 365] });
    leaf = await make('api.shop.test', { issuer: intermediate, sans: ['api.shop.test', 'www.shop.test'] });
  });

  it('parses a chain given leaf first, keeping only the certificates (re-encoded), and the key as PKCS#8', () => {
    const input = `Bag Attributes: friendlyName leaf\n${leaf.pem}\nsubject=junk\n${intermediate.pem}${root.pem}`;
    const { value, problems } = validateUpload({ certificate: input, privateKey: pem(leaf.key) }, NOW);
    expect(problems).toEqual([]);
    expect(value!.chainPem).toBe([leaf.pem, intermediate.pem, root.pem].map((p) => new X509Certificate(p).toString()).join(''));
    expect(value!.chainPem).not.toContain('junk');
    const node = new X509Certificate(leaf.pem);
    expect(value!.chain[0]).toEqual({
      subject: 'CN=api.shop.test',
      issuer: 'CN=Test Intermediate',
      serialNumber: node.serialNumber,
      fingerprint256: node.fingerprint256,
      notBefore: new Date(NOW.getTime() - DAY),
      notAfter: new Date(NOW.getTime() + 90 * DAY),
      subjectAltNames: [
        { type: 'dns', value: 'api.shop.test' },
        { type: 'dns', value: 'www.shop.test' },
      ],
      keyType: 'ECDSA P-256',
      isCa: false,
    });
    expect(value!.chain.map((c) => [c.subject, c.isCa])).toEqual([
      ['CN=api.shop.test', false],
      ['CN=Test Intermediate', true],
      ['CN=Test Root', true],
    ]);
    expect(value!.pkcs8.equals(leaf.key.export({ format: 'der', type: 'pkcs8' }) as Buffer)).toBe(true);
  });

  it('reads PKCS#1 RSA and SEC1 EC keys, and reports RSA and EC key types', async () => {
    const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const rsaLeaf = await make('rsa.shop.test', { issuer: root, key: rsaKey });
    const rsa = validateUpload({ certificate: rsaLeaf.pem, privateKey: pem(rsaKey, 'pkcs1') }, NOW);
    expect(rsa.problems).toEqual([]);
    expect(rsa.value!.chain[0].keyType).toBe('RSA 2048');
    expect(pem(rsaKey, 'pkcs1')).toContain('BEGIN RSA PRIVATE KEY');
    const sec1 = validateUpload({ certificate: `${leaf.pem}${intermediate.pem}`, privateKey: pem(leaf.key, 'sec1') }, NOW);
    expect(sec1.problems).toEqual([]);
    expect(createPrivateKey({ key: sec1.value!.pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' })).toEqual(leaf.key.export({ format: 'jwk' }));
  });

  it('refuses a key that is not the leaf\'s, naming privateKey and never echoing the key', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const { value, problems } = validateUpload({ certificate: `${leaf.pem}${intermediate.pem}`, privateKey: pem(other) }, NOW);
    expect(value).toBeNull();
    expect(problems).toEqual([{ path: 'privateKey', message: 'does not match the certificate: it is not the private key of certificate[0] (the leaf)' }]);
    expect(JSON.stringify(problems)).not.toContain(body(pem(other)).slice(10, 40));
  });

  it('refuses a chain out of order, a forged issuer and an issuer that is not a CA, with the position', async () => {
    const reversed = validateUpload({ certificate: `${intermediate.pem}${leaf.pem}`, privateKey: pem(intermediate.key) }, NOW);
    expect(reversed.problems).toEqual([
      {
        path: 'certificate[0]',
        message: 'is not issued by certificate[1]: its issuer is "CN=Test Root", the next certificate\'s subject is "CN=api.shop.test" (give the chain leaf first, each certificate followed by its issuer)',
      },
    ]);
    // Same name as the real intermediate, another key: the names match, the signature does not.
    const impostor = await make('Test Intermediate', { ca: true, issuer: root });
    const forged = validateUpload({ certificate: `${leaf.pem}${impostor.pem}${root.pem}`, privateKey: pem(leaf.key) }, NOW);
    expect(forged.problems).toEqual([{ path: 'certificate[0]', message: 'its signature does not verify with the public key of certificate[1] ("CN=Test Intermediate")' }]);
    const notCa = await make('not-a-ca.shop.test', { issuer: root });
    const child = await make('child.shop.test', { issuer: notCa });
    const bad = validateUpload({ certificate: `${child.pem}${notCa.pem}`, privateKey: pem(child.key) }, NOW);
    expect(bad.problems).toEqual([{ path: 'certificate[1]', message: 'issues certificate[0] but is not a CA certificate (basicConstraints CA:TRUE)' }]);
  });

  it('refuses an expired certificate unless told, with its expiry', async () => {
    const old = await make('old.shop.test', { issuer: root, days: [-100, -1] });
    const refused = validateUpload({ certificate: `${old.pem}${root.pem}`, privateKey: pem(old.key) }, NOW);
    expect(refused.problems).toEqual([{ path: 'certificate[0]', message: `expired at ${new Date(NOW.getTime() - DAY).toISOString()}: renew it, or pass "allowExpired": true to store it anyway` }]);
    const allowed = validateUpload({ certificate: `${old.pem}${root.pem}`, privateKey: pem(old.key), allowExpired: true }, NOW);
    expect(allowed.problems).toEqual([]);
    expect(allowed.value!.chain[0].notAfter).toEqual(new Date(NOW.getTime() - DAY));
    // The boundary: valid up to its last instant.
    expect(validateUpload({ certificate: old.pem, privateKey: pem(old.key) }, new Date(NOW.getTime() - DAY - 1)).problems).toEqual([]);
  });

  it('says what is wrong with malformed input, field by field', () => {
    const key = pem(leaf.key);
    expect(validateUpload({ certificate: '', privateKey: 42 }, NOW).problems).toEqual([
      { path: 'certificate', message: 'must be the PEM certificate chain, leaf first' },
      { path: 'privateKey', message: 'must be the PEM private key of the leaf certificate' },
    ]);
    expect(validateUpload({ certificate: 'hello', privateKey: key }, NOW).problems).toEqual([{ path: 'certificate', message: 'holds no "-----BEGIN CERTIFICATE-----" block: give the PEM chain, leaf first' }]);
    const broken = `${leaf.pem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`;
    expect(validateUpload({ certificate: broken, privateKey: key }, NOW).problems).toEqual([{ path: 'certificate[1]', message: 'is not a valid X.509 certificate' }]);
    const withKey = validateUpload({ certificate: `${leaf.pem}${key}`, privateKey: key }, NOW);
    expect(withKey.problems).toEqual([{ path: 'certificate', message: 'holds a private key block: send the private key in "privateKey" only' }]);
    expect(validateUpload({ certificate: leaf.pem.repeat(11), privateKey: key }, NOW).problems).toEqual([{ path: 'certificate', message: 'holds 11 certificates; at most 10' }]);
    const encrypted = leaf.key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    expect(validateUpload({ certificate: leaf.pem, privateKey: encrypted }, NOW).problems).toEqual([{ path: 'privateKey', message: 'is encrypted with a passphrase: give it unencrypted (it is encrypted at rest here)' }]);
    const garbled = key.replace(/\n[A-Za-z0-9+/]{20}/, '\n' + 'A'.repeat(20));
    const unreadable = validateUpload({ certificate: leaf.pem, privateKey: garbled }, NOW);
    expect(unreadable.problems).toEqual([{ path: 'privateKey', message: 'is not a private key this server can read (PKCS#8, PKCS#1 RSA or SEC1 EC, in PEM)' }]);
    expect(JSON.stringify(unreadable.problems)).not.toContain(body(garbled).slice(30, 60));
    expect(validateUpload({ certificate: leaf.pem, privateKey: `${key}${key}` }, NOW).problems[0].path).toBe('privateKey');
  });
});

describe('the project CA', () => {
  it('creates a self-signed ECDSA P-256 CA and issues certificates that node:crypto verifies against it', async () => {
    const ca = await createAuthorityCertificate('Shop CA (prod) 2026/03', 365, NOW);
    const caCert = new X509Certificate(ca.chainPem);
    expect(caCert.ca).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect(caCert.checkPrivateKey(createPrivateKey({ key: ca.pkcs8, format: 'der', type: 'pkcs8' }))).toBe(true);
    expect(ca.chain[0]).toMatchObject({ subject: 'CN=Shop CA (prod) 2026/03', keyType: 'ECDSA P-256', isCa: true, notBefore: NOW, notAfter: new Date(NOW.getTime() + 365 * DAY) });

    const spec = { commonName: 'api.shop.test', dnsNames: ['api.shop.test', '*.api.shop.test'], ipAddresses: ['10.0.0.7', '::1'], lifetimeSeconds: 3600, keyType: 'ECDSA-P256' as const };
    const issued = await issueCertificate({ certificatePem: ca.chainPem, pkcs8: ca.pkcs8 }, spec, NOW, new Date(NOW.getTime() + 3600_000));
    const [leaf, again] = issued.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!.map((p) => new X509Certificate(p));
    expect(again.fingerprint256).toBe(caCert.fingerprint256);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkPrivateKey(createPrivateKey({ key: issued.pkcs8, format: 'der', type: 'pkcs8' }))).toBe(true);
    expect(leaf.checkHost('x.api.shop.test')).toBe('*.api.shop.test');
    expect(leaf.checkHost('evil.test')).toBeUndefined();
    expect(leaf.checkIP('10.0.0.7')).toBe('10.0.0.7');
    expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(issued.chain[0]).toMatchObject({
      subject: 'CN=api.shop.test',
      issuer: 'CN=Shop CA (prod) 2026/03',
      notBefore: NOW,
      notAfter: new Date(NOW.getTime() + 3600_000),
      subjectAltNames: [
        { type: 'dns', value: 'api.shop.test' },
        { type: 'dns', value: '*.api.shop.test' },
        { type: 'ip', value: '10.0.0.7' },
        { type: 'ip', value: '::1' },
      ],
      keyType: 'ECDSA P-256',
    });
    // What it issued passes the upload validation too (chain and key).
    expect(validateUpload({ certificate: issued.chainPem, privateKey: pkcs8Pem(issued.pkcs8) }, NOW).problems).toEqual([]);

    const rsa = await issueCertificate({ certificatePem: ca.chainPem, pkcs8: ca.pkcs8 }, { ...spec, keyType: 'RSA-2048' }, NOW, new Date(NOW.getTime() + 3600_000));
    const p384 = await issueCertificate({ certificatePem: ca.chainPem, pkcs8: ca.pkcs8 }, { ...spec, keyType: 'ECDSA-P384' }, NOW, new Date(NOW.getTime() + 3600_000));
    expect([rsa.chain[0].keyType, p384.chain[0].keyType]).toEqual(['RSA 2048', 'ECDSA P-384']);
    expect(new Set([issued, rsa, p384].map((i) => i.chain[0].serialNumber)).size).toBe(3);
    expect(issued.chain[0].serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
  });

  it('refuses to sign with a key that is not the CA\'s (the certificate would not verify)', async () => {
    const ca = await createAuthorityCertificate('Shop CA', 30, NOW);
    const other = await createAuthorityCertificate('Other CA', 30, NOW);
    const issued = await issueCertificate({ certificatePem: ca.chainPem, pkcs8: other.pkcs8 }, { commonName: 'x', dnsNames: ['x.test'], ipAddresses: [], lifetimeSeconds: 60, keyType: 'ECDSA-P256' }, NOW, new Date(NOW.getTime() + 60_000));
    const { problems } = validateUpload({ certificate: issued.chainPem, privateKey: pkcs8Pem(issued.pkcs8) }, NOW);
    expect(problems).toEqual([{ path: 'certificate[0]', message: 'its signature does not verify with the public key of certificate[1] ("CN=Shop CA")' }]);
  });

  it('describes a certificate without SANs', async () => {
    const plain = await make('plain');
    expect(describeCertificate(new X509Certificate(plain.pem))).toMatchObject({ subject: 'CN=plain', issuer: 'CN=plain', subjectAltNames: [] });
  });
});
