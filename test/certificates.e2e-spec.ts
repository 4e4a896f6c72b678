import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { Certificates, ChangeWriter, Secrets, type CertificatePassReport } from '@flagstream/changes';
import { LocalKekProvider, type EnvelopeCipher } from '@flagstream/crypto';
import { FlagstreamClient } from '@flagstream/sdk';
import { secretCipher } from '@flagstream/server';
import { alertEventProblems } from '../apps/worker/src/alerts/alert-event';
import { createProject, createToken, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const run = promisify(execFile);
const DAY = 86_400_000;
const EC: webcrypto.EcKeyImportParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const C = (project: string, env: string) => `/api/v1/projects/${project}/environments/${env}/certificates`;
const CA = (project: string) => `/api/v1/projects/${project}/certificate-authority`;

/** Captures every log line the admin writes (at trace level). */
class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

interface Made {
  pem: string;
  key: KeyObject;
}

/** A certificate made in the test with @peculiar/x509 directly (not the code under test), signed by `issuer` or itself. */
async function make(cn: string, opts: { issuer?: Made; ca?: boolean; days?: [number, number]; key?: KeyObject } = {}): Promise<Made> {
  const key = opts.key ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const signer = opts.issuer?.key ?? key;
  const now = Date.now();
  const [from, to] = opts.days ?? [-1, 90];
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [cn] }],
    issuer: opts.issuer ? new x509.X509Certificate(opts.issuer.pem).subjectName : [{ CN: [cn] }],
    notBefore: new Date(now + from * DAY),
    notAfter: new Date(now + to * DAY),
    signingAlgorithm: EC,
    publicKey: createPublicKey(key).export({ format: 'der', type: 'spki' }),
    signingKey: await webcrypto.subtle.importKey('pkcs8', signer.export({ format: 'der', type: 'pkcs8' }), EC, false, ['sign']),
    extensions: [new x509.BasicConstraintsExtension(opts.ca ?? false, undefined, true), ...(opts.ca ? [] : [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: cn }])])],
  });
  return { pem: cert.toString('pem'), key };
}

const keyPem = (k: KeyObject) => k.export({ format: 'pem', type: 'pkcs8' }).toString();
const blocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!.map((p) => new X509Certificate(p));

describe('certificates: upload, project CA, renewal, expiry alerts, delivery to the SDK', () => {
  x509.cryptoProvider.set(webcrypto);
  let h: AdminHarness;
  let gw: GatewayHarness;
  let owner: ApiClient;
  let editor: ApiClient;
  let viewer: ApiClient;
  let cipher: EnvelopeCipher;
  const logs = new LogSink();
  /** Every private key this file has seen (uploaded, or decrypted from the database): none may leak. */
  const privateKeys: KeyObject[] = [];
  let root: Made;
  let intermediate: Made;
  const clients: FlagstreamClient[] = [];

  /** A worker's view of the domain: its own change writer and Secrets, the admin's database and KEK. */
  const worker = () => {
    const changes = new ChangeWriter(h.store, h.relay);
    return new Certificates(h.store, changes, cipher, new Secrets(h.store, changes, cipher));
  };
  const mine = (report: CertificatePassReport, project: string) => ({
    renewed: report.renewed.filter((r) => r.project === project).map((r) => `${r.environment}/${r.name}@${r.version}`),
    renewalFailures: report.renewalFailures.filter((r) => r.project === project),
    published: report.published.filter((r) => r.project === project).map((r) => `${r.environment}/${r.name}@${r.version}->${r.secretPath}#${r.secretVersion}`),
    publishFailures: report.publishFailures.filter((r) => r.project === project),
    alerts: report.alerts.filter((a) => a.project === project),
  });

  async function ids(project: string, env: string, name: string): Promise<{ projectId: string; environmentId: string; certificateId: string }> {
    const [row] = await h.db.query<{ project_id: string; environment_id: string; id: string }>(
      `SELECT c.project_id, c.environment_id, c.id FROM certificates c JOIN projects p ON p.id = c.project_id JOIN environments e ON e.id = c.environment_id
        WHERE p.key = $1 AND e.key = $2 AND c.name = $3 AND c.deleted_at IS NULL`,
      [project, env, name],
    );
    return { projectId: row.project_id, environmentId: row.environment_id, certificateId: row.id };
  }

  /** Opens a stored version's private key with the harness keyring and the documented AAD. */
  async function storedKey(project: string, env: string, name: string, version: number): Promise<KeyObject> {
    const { projectId, environmentId, certificateId } = await ids(project, env, name);
    const [row] = await h.db.query<{ private_key: Buffer }>('SELECT private_key FROM certificate_versions WHERE certificate_id = $1 AND version = $2', [certificateId, version]);
    const der = await cipher.decrypt(row.private_key, { purpose: 'certificate-key', project: projectId, environment: environmentId, path: certificateId, version });
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    privateKeys.push(key);
    return key;
  }

  beforeAll(async () => {
    h = await startAdmin({ logDestination: { level: 'trace', stream: logs } });
    gw = await startGateway(h);
    owner = h.api(h.ownerToken);
    editor = h.api(await createToken(h, 'editor'));
    viewer = h.api(await createToken(h, 'viewer'));
    await createProject(h, 'shop');
    await createProject(h, 'alerts');
    cipher = secretCipher(LocalKekProvider.fromEnvValue(h.keyring), 1, { countUses: (v, n) => h.store.read.secrets.countKekUses(v, n) });
    root = await make('Shop Test Root', { ca: true, days: [-10, 3650] });
    intermediate = await make('Shop Test Intermediate', { ca: true, issuer: root, days: [-5, 1000] });
    privateKeys.push(root.key, intermediate.key);
  });

  afterAll(async () => {
    for (const c of clients) await c.close();
    await gw?.close();
    await h?.close();
  }, 30_000);

  it('uploads a chain and its key: parsed metadata and versions, never the key; audited', async () => {
    const leaf = await make('api.shop.test', { issuer: intermediate });
    privateKeys.push(leaf.key);
    const chain = `${leaf.pem}${intermediate.pem}${root.pem}`;
    expect((await editor.put(`${C('shop', 'staging')}/tls/api`, { certificate: chain, privateKey: keyPem(leaf.key) })).status).toBe(403);

    const first = await owner.put(`${C('shop', 'staging')}/tls/api`, { certificate: chain, privateKey: keyPem(leaf.key) });
    expect(first.status).toBe(200);
    const node = new X509Certificate(leaf.pem);
    expect(first.body).toMatchObject({
      name: 'tls/api',
      environment: 'staging',
      kind: 'uploaded',
      currentVersion: 1,
      secretPath: null,
      subject: 'CN=api.shop.test',
      issuer: 'CN=Shop Test Intermediate',
      serialNumber: node.serialNumber,
      renewAt: null,
      deleted: false,
      issuance: null,
    });
    expect(blocks(first.body.certificate).map((c) => c.fingerprint256)).toEqual([leaf, intermediate, root].map((m) => new X509Certificate(m.pem).fingerprint256));
    expect(first.body.versions).toEqual([
      expect.objectContaining({
        version: 1,
        source: 'upload',
        fingerprint256: node.fingerprint256,
        subjectAltNames: [{ type: 'dns', value: 'api.shop.test' }],
        keyType: 'ECDSA P-256',
        chainLength: 3,
        kekVersion: 1,
        privateKeyDestroyed: false,
        publishedSecretVersion: null,
        alertedDays: [],
      }),
    ]);
    expect(Date.parse(first.body.notAfter)).toBe(new x509.X509Certificate(leaf.pem).notAfter.getTime());
    expect(JSON.stringify(first.body)).not.toMatch(/PRIVATE KEY|"privateKey"/);
    expect((await storedKey('shop', 'staging', 'tls/api', 1)).export({ format: 'jwk' })).toEqual(leaf.key.export({ format: 'jwk' }));

    // A new upload (a new key) is a new version; the history keeps both.
    const next = await make('api.shop.test', { issuer: intermediate });
    privateKeys.push(next.key);
    const second = await owner.put(`${C('shop', 'staging')}/tls/api`, { certificate: `${next.pem}${intermediate.pem}`, privateKey: keyPem(next.key) });
    expect(second.status).toBe(200);
    expect(second.body.currentVersion).toBe(2);
    expect(second.body.versions.map((v: { version: number; chainLength: number }) => [v.version, v.chainLength])).toEqual([
      [1, 3],
      [2, 2],
    ]);

    const listed = await viewer.get(C('shop', 'staging'));
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ name: 'tls/api', kind: 'uploaded', currentVersion: 2, serialNumber: new X509Certificate(next.pem).serialNumber })]);
    const got = await viewer.get(`${C('shop', 'staging')}/tls/api`);
    expect(got.status).toBe(200);
    expect(got.body.versions).toHaveLength(2);

    const audit = await h.db.query<{ action: string; target_key: string; environment_key: string; after: Record<string, unknown> }>(
      `SELECT action, target_key, environment_key, after FROM audit_events WHERE target_type = 'certificate' ORDER BY seq`,
    );
    expect(audit).toEqual([
      { action: 'certificate.uploaded', target_key: 'tls/api', environment_key: 'staging', after: expect.objectContaining({ name: 'tls/api', kind: 'uploaded', version: 1, serialNumber: node.serialNumber, secretPath: null }) },
      { action: 'certificate.uploaded', target_key: 'tls/api', environment_key: 'staging', after: expect.objectContaining({ version: 2 }) },
    ]);
  });

  it('refuses a mismatched key, a broken chain and an expired certificate with 400 and paths; 404, 409; writes nothing when refused', async () => {
    const before = await h.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
    const leaf = await make('web.shop.test', { issuer: intermediate });
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    privateKeys.push(leaf.key, stranger);
    const mismatched = await owner.put(`${C('shop', 'staging')}/tls/web`, { certificate: `${leaf.pem}${intermediate.pem}`, privateKey: keyPem(stranger) });
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'privateKey', message: 'does not match the certificate: it is not the private key of certificate[0] (the leaf)' }] });

    const reversed = await owner.put(`${C('shop', 'staging')}/tls/web`, { certificate: `${intermediate.pem}${leaf.pem}`, privateKey: keyPem(leaf.key) });
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.details).toEqual([{ path: 'certificate[0]', message: expect.stringContaining('is not issued by certificate[1]') }, { path: 'privateKey', message: expect.any(String) }]);
    // Same issuer name, another key: a forged link.
    const impostor = await make('Shop Test Intermediate', { ca: true, issuer: root });
    const forged = await owner.put(`${C('shop', 'staging')}/tls/web`, { certificate: `${leaf.pem}${impostor.pem}${root.pem}`, privateKey: keyPem(leaf.key) });
    expect(forged.status).toBe(400);
    expect(forged.body.error.details).toEqual([{ path: 'certificate[0]', message: 'its signature does not verify with the public key of certificate[1] ("CN=Shop Test Intermediate")' }]);

    const old = await make('old.shop.test', { issuer: intermediate, days: [-30, -2] });
    privateKeys.push(old.key);
    const expired = await owner.put(`${C('shop', 'staging')}/tls/old`, { certificate: `${old.pem}${intermediate.pem}`, privateKey: keyPem(old.key) });
    expect(expired.status).toBe(400);
    expect(expired.body.error.details).toEqual([{ path: 'certificate[0]', message: expect.stringMatching(/^expired at .+Z: renew it, or pass "allowExpired": true to store it anyway$/) }]);

    for (const [body, path] of [
      [{ certificate: leaf.pem, privateKey: keyPem(leaf.key), extra: 1 }, 'extra'],
      [{ certificate: leaf.pem }, 'privateKey'],
      [{ certificate: leaf.pem, privateKey: keyPem(leaf.key), secretPath: '/bad//path' }, 'secretPath'],
    ] as const) {
      const res = await owner.put(`${C('shop', 'staging')}/tls/web`, body);
      expect(res.status).toBe(400);
      expect([...new Set(res.body.error.details.map((d: { path: string }) => d.path))]).toEqual([path]);
    }
    const badName = await owner.put(`${C('shop', 'staging')}/-bad/name`, { certificate: leaf.pem, privateKey: keyPem(leaf.key) });
    expect(badName.status).toBe(400);
    expect(badName.body.error.details[0].path).toBe('name');
    expect(await h.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_events')).toEqual(before);

    const missing = await viewer.get(`${C('shop', 'staging')}/tls/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('certificate "tls/nope" does not exist in environment "staging"');
    expect((await owner.get(`${C('shop', 'nowhere')}/tls/api`)).status).toBe(404);
    const renewUploaded = await owner.post(`${C('shop', 'staging')}/tls/api:renew`);
    expect(renewUploaded.status).toBe(409);
    expect(renewUploaded.body.error.message).toBe('certificate "tls/api" in environment "staging" was uploaded: upload a new version to renew it');
    expect((await owner.post(`${C('shop', 'staging')}/tls/api:explode`)).status).toBe(400);
    const noCa = await owner.post(C('shop', 'staging'), { name: 'tls/internal', commonName: 'internal', dnsNames: ['internal.shop.test'], lifetimeSeconds: 3600 });
    expect(noCa.status).toBe(404);
    expect(noCa.body.error.message).toBe('project "shop" has no certificate authority: create one first (POST /api/v1/projects/shop/certificate-authority)');

    // Told to, it stores an expired one.
    const allowed = await owner.put(`${C('shop', 'development')}/tls/old`, { certificate: `${old.pem}${intermediate.pem}`, privateKey: keyPem(old.key), allowExpired: true });
    expect(allowed.status).toBe(200);
  });

  let caPem: string;
  it('creates the project CA (a second one only as a replacement) and issues certificates that node:crypto verifies against it', async () => {
    expect((await viewer.get(CA('shop'))).status).toBe(404);
    expect((await editor.post(CA('shop'), { name: 'Shop CA' })).status).toBe(403);
    const badName = await owner.post(CA('shop'), { name: 'Shop, "CA"', lifetimeDays: 0 });
    expect(badName.status).toBe(400);
    expect(badName.body.error.details.map((d: { path: string }) => d.path)).toEqual(['name', 'lifetimeDays']);
    const created = await owner.post(CA('shop'), { name: 'Shop CA', lifetimeDays: 3650 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ project: 'shop', name: 'Shop CA', subject: 'CN=Shop CA', keyType: 'ECDSA P-256', kekVersion: 1 });
    expect(JSON.stringify(created.body)).not.toMatch(/PRIVATE KEY|"privateKey"/);
    caPem = created.body.certificate;
    const ca = new X509Certificate(caPem);
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect((await viewer.get(CA('shop'))).body).toEqual(created.body);
    const again = await owner.post(CA('shop'), { name: 'Shop CA 2' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      message: 'project "shop" has a certificate authority already ("Shop CA"): pass "replace": true to make a new one the issuing CA (certificates keep renewing under the CA that issued them)',
      details: [{ path: 'replace', message: 'must be true to replace the current CA' }],
    });
    expect(created.body.previous).toEqual([]);

    const issued = await owner.post(C('shop', 'staging'), { name: 'tls/internal', commonName: 'internal.shop.test', dnsNames: ['internal.shop.test'], ipAddresses: ['10.1.2.3'], lifetimeSeconds: 86_400, keyType: 'RSA-2048' });
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({
      name: 'tls/internal',
      kind: 'issued',
      currentVersion: 1,
      subject: 'CN=internal.shop.test',
      issuer: 'CN=Shop CA',
      issuance: { authority: 'Shop CA', commonName: 'internal.shop.test', dnsNames: ['internal.shop.test'], ipAddresses: ['10.1.2.3'], lifetimeSeconds: 86_400, keyType: 'RSA-2048', renewalFailures: 0 },
    });
    const [leaf, chainCa] = blocks(issued.body.certificate);
    expect(chainCa.fingerprint256).toBe(ca.fingerprint256);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkHost('internal.shop.test')).toBe('internal.shop.test');
    expect(leaf.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(leaf.publicKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048 });
    // Renewal at two thirds of the lifetime.
    const { notBefore, notAfter, issuance } = issued.body as { notBefore: string; notAfter: string; issuance: { renewAt: string } };
    expect(Date.parse(notAfter) - Date.parse(notBefore)).toBe(86_400_000);
    expect(Date.parse(issuance.renewAt)).toBe(Date.parse(notBefore) + 57_600_000);
    // The key generated on the server is the leaf's, stored encrypted under the documented AAD.
    expect(leaf.checkPrivateKey(await storedKey('shop', 'staging', 'tls/internal', 1))).toBe(true);

    const taken = await owner.post(C('shop', 'staging'), { name: 'tls/internal', commonName: 'x', dnsNames: ['x.test'], lifetimeSeconds: 60 });
    expect(taken.status).toBe(409);
    const tooLong = await owner.post(C('shop', 'staging'), { name: 'tls/long', commonName: 'x', dnsNames: ['x.test'], lifetimeSeconds: 3650 * 86_400 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.details).toEqual([{ path: 'lifetimeSeconds', message: expect.stringMatching(/^would end after the project CA expires \(.+\): at most \d+$/) }]);
    const badType = await owner.post(C('shop', 'staging'), { name: 'tls/bad', commonName: 'x', dnsNames: ['x.test'], lifetimeSeconds: 60, keyType: 'DSA' });
    expect(badType.status).toBe(400);
    expect(badType.body.error.details).toEqual([{ path: 'keyType', message: expect.stringContaining('ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072') }]);
    const badSpec = await owner.post(C('shop', 'staging'), { name: 'tls/bad', commonName: 'x, O=Evil', dnsNames: ['ok.test', 'not a name'], ipAddresses: ['1.2.3.999'], lifetimeSeconds: 10 });
    expect(badSpec.status).toBe(400);
    expect(badSpec.body.error.details.map((d: { path: string }) => d.path)).toEqual(['commonName', 'dnsNames[1]', 'ipAddresses[0]', 'lifetimeSeconds']);
  });

  it('replaces the project CA only when told: new certificates chain to the new CA, older ones keep renewing under theirs', async () => {
    await createProject(h, 'rotate');
    const old = await owner.post(CA('rotate'), { name: 'Old CA', lifetimeDays: 365 });
    expect(old.status).toBe(201);
    const a = await owner.post(C('rotate', 'staging'), { name: 'tls/a', commonName: 'a.rotate.test', dnsNames: ['a.rotate.test'], lifetimeSeconds: 3600 });
    expect(a.body.issuer).toBe('CN=Old CA');
    const replaced = await owner.post(CA('rotate'), { name: 'New CA', lifetimeDays: 365, replace: true });
    expect(replaced.status).toBe(201);
    expect(replaced.body).toMatchObject({ name: 'New CA', previous: [{ name: 'Old CA', serialNumber: old.body.serialNumber, certificate: old.body.certificate }] });
    expect((await viewer.get(CA('rotate'))).body).toEqual(replaced.body);
    const b = await owner.post(C('rotate', 'staging'), { name: 'tls/b', commonName: 'b.rotate.test', dnsNames: ['b.rotate.test'], lifetimeSeconds: 3600 });
    expect(blocks(b.body.certificate)[0].verify(new X509Certificate(replaced.body.certificate).publicKey)).toBe(true);
    const renewed = await owner.post(`${C('rotate', 'staging')}/tls/a:renew`);
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ currentVersion: 2, issuer: 'CN=Old CA', issuance: { authority: 'Old CA' } });
    expect(blocks(renewed.body.certificate)[0].verify(new X509Certificate(old.body.certificate).publicKey)).toBe(true);
    const [event] = await h.db.query<{ after: Record<string, unknown> }>(`SELECT after FROM audit_events WHERE action = 'certificate_authority.created' AND project_key = 'rotate' ORDER BY seq DESC LIMIT 1`);
    expect(event.after).toMatchObject({ name: 'New CA', replaces: { name: 'Old CA', serialNumber: old.body.serialNumber } });
  });

  it('renews at two thirds of the lifetime in the worker pass, once across two concurrent passes, with a new key', async () => {
    const issued = await owner.post(C('shop', 'staging'), { name: 'tls/short', commonName: 'short.shop.test', dnsNames: ['short.shop.test'], lifetimeSeconds: 90 });
    expect(issued.status).toBe(201);
    const renewAt = Date.parse(issued.body.issuance.renewAt);
    expect(renewAt - Date.parse(issued.body.notBefore)).toBe(60_000);
    const v1Key = await storedKey('shop', 'staging', 'tls/short', 1);

    expect(mine(await worker().runDue(new Date(renewAt - 1), 'pass-0'), 'shop').renewed).toEqual([]);
    // Two workers at once: the renewal is claimed in Postgres, so exactly one renews.
    const [a, b] = await Promise.all([worker().runDue(new Date(renewAt), 'pass-a'), worker().runDue(new Date(renewAt), 'pass-b')]);
    expect([...mine(a, 'shop').renewed, ...mine(b, 'shop').renewed]).toEqual(['staging/tls/short@2']);
    expect([...a.renewalFailures, ...b.renewalFailures]).toEqual([]);
    expect(mine(await worker().runDue(new Date(renewAt), 'pass-c'), 'shop').renewed).toEqual([]);

    const after = await viewer.get(`${C('shop', 'staging')}/tls/short`);
    expect(after.body).toMatchObject({ currentVersion: 2, notBefore: new Date(renewAt).toISOString(), notAfter: new Date(renewAt + 90_000).toISOString() });
    expect(after.body.issuance.renewAt).toBe(new Date(renewAt + 60_000).toISOString());
    expect(after.body.versions.map((v: { version: number; source: string }) => [v.version, v.source])).toEqual([
      [1, 'issue'],
      [2, 'renewal'],
    ]);
    const [leaf] = blocks(after.body.certificate);
    expect(leaf.serialNumber).not.toBe(issued.body.serialNumber);
    expect(leaf.verify(new X509Certificate(caPem).publicKey)).toBe(true);
    const v2Key = await storedKey('shop', 'staging', 'tls/short', 2);
    expect(leaf.checkPrivateKey(v2Key)).toBe(true);
    expect(leaf.checkPrivateKey(v1Key)).toBe(false);

    const [event] = await h.db.query<{ actor_type: string; actor_name: string; request_id: string; after: Record<string, unknown> }>(
      `SELECT actor_type, actor_name, request_id, after FROM audit_events WHERE action = 'certificate.renewed' AND target_key = 'tls/short'`,
    );
    expect(event).toMatchObject({ actor_type: 'system', actor_name: 'scheduler', after: { name: 'tls/short', version: 2, scheduled: true, serialNumber: leaf.serialNumber } });
    expect(['pass-a', 'pass-b']).toContain(event.request_id);

    // Renew now (an owner's call): version 3 at once; editors may not.
    expect((await editor.post(`${C('shop', 'staging')}/tls/short:renew`)).status).toBe(403);
    const now = await owner.post(`${C('shop', 'staging')}/tls/short:renew`);
    expect(now.status).toBe(200);
    expect(now.body.currentVersion).toBe(3);
  });

  it('delivers an issued certificate and its renewals live to a server SDK through the secrets store', async () => {
    const key = await owner.post(`/api/v1/projects/shop/environments/staging/sdk-keys`, { kind: 'server', name: 'edge' });
    expect(key.status).toBe(201);
    expect((await owner.post(`/api/v1/projects/shop/secret-policies`, { subject: { type: 'sdk-key', id: key.body.id }, paths: ['tls/**'], environments: ['staging'] })).status).toBe(201);

    const issued = await owner.post(C('shop', 'staging'), { name: 'tls/edge', commonName: 'edge.shop.test', dnsNames: ['edge.shop.test'], lifetimeSeconds: 120, secretPath: 'tls/edge' });
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({ secretPath: 'tls/edge', versions: [expect.objectContaining({ version: 1, publishedSecretVersion: 1 })] });
    expect(issued.body.publishError).toBeUndefined();

    const sdk = new FlagstreamClient({ sdkKey: key.body.key, baseUrl: gw.url, secrets: true, backoff: { initialMs: 20, maxMs: 200 } });
    clients.push(sdk);
    await sdk.ready();
    type Published = { certificate: string; privateKey: string; notAfter: string; version: number };
    const read = () => JSON.parse(sdk.secret('tls/edge')!) as Published;
    const v1 = read();
    expect(v1).toEqual({ certificate: issued.body.certificate, privateKey: expect.stringMatching(/^-----BEGIN PRIVATE KEY-----\n/), notAfter: issued.body.notAfter, version: 1 });
    expect(blocks(v1.certificate)[0].checkPrivateKey(createPrivateKey(v1.privateKey))).toBe(true);
    privateKeys.push(createPrivateKey(v1.privateKey));

    // The worker renews two thirds in; the SDK hears of it through secretChange and holds the new pair.
    const changed = new Promise<string[]>((resolve) => sdk.on('secretChange', resolve));
    const report = await worker().runDue(new Date(Date.parse(issued.body.issuance.renewAt)), 'pass-edge');
    expect(mine(report, 'shop').renewed).toContain('staging/tls/edge@2');
    expect(await changed).toEqual(['tls/edge']);
    const v2 = read();
    expect(v2.version).toBe(2);
    const [leaf2, ca2] = blocks(v2.certificate);
    expect(leaf2.fingerprint256).not.toBe(blocks(v1.certificate)[0].fingerprint256);
    expect(leaf2.checkPrivateKey(createPrivateKey(v2.privateKey))).toBe(true);
    expect(leaf2.verify(ca2.publicKey)).toBe(true);
    expect(ca2.fingerprint256).toBe(new X509Certificate(caPem).fingerprint256);
    expect(sdk.secretDetail('tls/edge')).toMatchObject({ version: 2, definedIn: 'staging' });
    privateKeys.push(createPrivateKey(v2.privateKey));

    // The secret write is audited as the scheduler's, naming the certificate version; never the value.
    const [secretEvent] = await h.db.query<{ actor_name: string; reason: string; payload: string }>(
      `SELECT actor_name, reason, row_to_json(a)::text AS payload FROM audit_events a WHERE action = 'secret.version_created' AND target_key = 'tls/edge' ORDER BY seq DESC LIMIT 1`,
    );
    expect(secretEvent).toMatchObject({ actor_name: 'scheduler', reason: 'certificate "tls/edge" version 2' });
    expect(secretEvent.payload).not.toContain('PRIVATE KEY');

    // An uploaded certificate publishes the same way.
    const leaf = await make('upload.shop.test', { issuer: intermediate });
    privateKeys.push(leaf.key);
    const uploadChanged = new Promise<string[]>((resolve) => sdk.on('secretChange', resolve));
    const uploaded = await owner.put(`${C('shop', 'staging')}/tls/uploaded`, { certificate: `${leaf.pem}${intermediate.pem}`, privateKey: keyPem(leaf.key), secretPath: 'tls/uploaded' });
    expect(uploaded.status).toBe(200);
    expect(await uploadChanged).toEqual(['tls/uploaded']);
    const published = JSON.parse(sdk.secret('tls/uploaded')!) as Published;
    expect(createPrivateKey(published.privateKey).export({ format: 'jwk' })).toEqual(leaf.key.export({ format: 'jwk' }));
    // One secret path, one certificate.
    const clash = await owner.put(`${C('shop', 'staging')}/tls/api`, { certificate: `${leaf.pem}${intermediate.pem}`, privateKey: keyPem(leaf.key), secretPath: 'tls/uploaded' });
    expect(clash.status).toBe(409);
    expect(clash.body.error).toMatchObject({ message: 'secret "tls/uploaded" in environment "staging" is published by certificate "tls/uploaded" already', details: [{ path: 'secretPath' }] });
  });

  it('publishes in the pass a version whose writer died before publishing it', async () => {
    const issued = await owner.post(C('shop', 'staging'), { name: 'tls/crash', commonName: 'crash.shop.test', dnsNames: ['crash.shop.test'], lifetimeSeconds: 3600, secretPath: 'tls/crash' });
    expect(issued.body.versions[0].publishedSecretVersion).toBe(1);
    // As if the admin had committed the version and died before the secret write: unpublished, claimed long ago.
    const { certificateId } = await ids('shop', 'staging', 'tls/crash');
    await h.db.query(`UPDATE certificate_versions SET published_secret_version = NULL, publish_claimed_at = now() - interval '1 hour' WHERE certificate_id = $1`, [certificateId]);
    const [a, b] = await Promise.all([worker().runDue(new Date(), 'pass-pub-a'), worker().runDue(new Date(), 'pass-pub-b')]);
    expect([...mine(a, 'shop').published, ...mine(b, 'shop').published]).toEqual(['staging/tls/crash@1->tls/crash#2']);
    expect((await viewer.get(`${C('shop', 'staging')}/tls/crash`)).body.versions[0].publishedSecretVersion).toBe(2);
    expect(mine(await worker().runDue(new Date(), 'pass-pub-c'), 'shop').published).toEqual([]);
  });

  it('deletes: every private key destroyed, gone from lists and renewals, the name free again', async () => {
    expect((await editor.delete(`${C('shop', 'staging')}/tls/short`)).status).toBe(403);
    const { certificateId } = await ids('shop', 'staging', 'tls/short');
    const deleted = await owner.delete(`${C('shop', 'staging')}/tls/short`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ name: 'tls/short', deleted: true, renewAt: null });
    // Versions 1 to 3 at least (later passes may have renewed it again).
    expect(deleted.body.versions.length).toBe(deleted.body.currentVersion);
    expect(deleted.body.currentVersion).toBeGreaterThanOrEqual(3);
    for (const v of deleted.body.versions as Array<{ privateKeyDestroyed: boolean; kekVersion: number | null }>) expect(v).toMatchObject({ privateKeyDestroyed: true, kekVersion: null });
    expect(await h.db.query('SELECT count(*)::int AS n FROM certificate_versions WHERE certificate_id = $1 AND private_key IS NOT NULL', [certificateId])).toEqual([{ n: 0 }]);
    expect((await viewer.get(`${C('shop', 'staging')}/tls/short`)).status).toBe(404);
    expect((await owner.delete(`${C('shop', 'staging')}/tls/short`)).status).toBe(404);
    expect((await viewer.get(C('shop', 'staging'))).body.items.map((i: { name: string }) => i.name)).not.toContain('tls/short');
    const later = mine(await worker().runDue(new Date(Date.now() + DAY), 'pass-del'), 'shop');
    expect(later.renewed.length).toBeGreaterThan(0);
    expect(later.renewed.filter((r) => r.includes('tls/short'))).toEqual([]);
    // The database refuses to bring a key back or to delete history.
    await expect(h.db.query(`DELETE FROM certificate_versions WHERE certificate_id = $1`, [certificateId])).rejects.toThrow('certificate_versions rows are never deleted');
    await expect(h.db.query(`UPDATE certificate_versions SET chain_pem = 'x' WHERE certificate_id = $1`, [certificateId])).rejects.toThrow('certificate versions are immutable');
    const reused = await owner.post(C('shop', 'staging'), { name: 'tls/short', commonName: 'short.shop.test', dnsNames: ['short.shop.test'], lifetimeSeconds: 3600 });
    expect(reused.status).toBe(201);
    expect(reused.body.currentVersion).toBe(1);
  });

  it('alerts before expiry at the thresholds of the environment, once per threshold and version', async () => {
    const settings = `/api/v1/projects/alerts/environments/staging/certificate-settings`;
    expect((await viewer.get(settings)).body).toEqual({ project: 'alerts', environment: 'staging', alertDaysBefore: [30, 7, 1], updatedAt: null, updatedBy: null });
    expect((await editor.put(settings, { alertDaysBefore: [14, 3] })).status).toBe(403);
    const bad = await owner.put(settings, { alertDaysBefore: [3, 3, -1] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(['alertDaysBefore[1]', 'alertDaysBefore[2]']);
    const set = await owner.put(settings, { alertDaysBefore: [3, 14] });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ alertDaysBefore: [14, 3], updatedBy: { type: 'token' } });

    const soon = await make('soon.alerts.test', { issuer: intermediate, days: [-80, 10] });
    privateKeys.push(soon.key);
    const up = await owner.put(`${C('alerts', 'staging')}/tls/soon`, { certificate: `${soon.pem}${intermediate.pem}`, privateKey: keyPem(soon.key) });
    expect(up.status).toBe(200);
    const notAfter = Date.parse(up.body.notAfter);
    // Two passes at once (10 days left: the 14-day threshold is due): one alert.
    const now = new Date();
    const [a, b] = await Promise.all([worker().runDue(now), worker().runDue(now)]);
    const alerts = [...mine(a, 'alerts').alerts, ...mine(b, 'alerts').alerts];
    const { versionId } = (await h.db.query<{ versionId: string }>(`SELECT v.id AS "versionId" FROM certificate_versions v JOIN certificates c ON c.id = v.certificate_id WHERE c.name = 'tls/soon'`))[0];
    expect(alerts).toEqual([
      {
        id: `certificate-expiring-${versionId}-14d`,
        type: 'certificate.expiring',
        occurredAt: now.toISOString(),
        project: 'alerts',
        environment: 'staging',
        summary: `Certificate "tls/soon" in "staging" (version 1, CN=soon.alerts.test) expires in 9 days, at ${new Date(notAfter).toISOString()}`,
        data: {
          name: 'tls/soon',
          version: 1,
          kind: 'uploaded',
          subject: 'CN=soon.alerts.test',
          serialNumber: up.body.serialNumber,
          fingerprint256: up.body.versions[0].fingerprint256,
          notAfter: new Date(notAfter).toISOString(),
          daysBefore: 14,
          daysLeft: 9,
        },
      },
    ]);
    // The worker can emit it as is.
    expect(alertEventProblems(alerts[0])).toEqual([]);
    expect(mine(await worker().runDue(new Date(notAfter - 3 * DAY - 1)), 'alerts').alerts).toEqual([]);
    const three = mine(await worker().runDue(new Date(notAfter - 3 * DAY)), 'alerts').alerts;
    expect(three.map((x) => [x.id, x.data.daysBefore, x.data.daysLeft])).toEqual([[`certificate-expiring-${versionId}-3d`, 3, 3]]);
    expect(mine(await worker().runDue(new Date(notAfter + DAY)), 'alerts').alerts).toEqual([]);
    expect((await viewer.get(`${C('alerts', 'staging')}/tls/soon`)).body.versions[0].alertedDays).toEqual([3, 14]);

    // A new version starts its own thresholds.
    const renewed = await make('soon.alerts.test', { issuer: intermediate, days: [-1, 5] });
    privateKeys.push(renewed.key);
    expect((await owner.put(`${C('alerts', 'staging')}/tls/soon`, { certificate: `${renewed.pem}${intermediate.pem}`, privateKey: keyPem(renewed.key) })).status).toBe(200);
    const fresh = mine(await worker().runDue(new Date()), 'alerts').alerts;
    expect(fresh.map((x) => [x.data.version, x.data.daysBefore])).toEqual([[2, 14]]);
  });

  it('never lets a private key out: not in a pg_dump, a log line, an audit record or an API answer', async () => {
    expect(privateKeys.length).toBeGreaterThan(10);
    const api = JSON.stringify([
      (await owner.get(C('shop', 'staging'))).body,
      (await owner.get(`${C('shop', 'staging')}/tls/api`)).body,
      (await owner.get(`${C('shop', 'staging')}/tls/edge`)).body,
      (await owner.get(`${C('alerts', 'staging')}/tls/soon`)).body,
      (await owner.get(CA('shop'))).body,
    ]);
    const audit = JSON.stringify(await h.db.query('SELECT row_to_json(a)::text AS r FROM audit_events a'));
    const { stdout: dump } = await run('pg_dump', ['--data-only', '--no-owner', h.db.url], { maxBuffer: 256 * 1024 * 1024 });
    // The dump holds the encrypted keys and the public chains: the search below is meaningful.
    expect(dump).toContain('certificate_versions');
    expect(dump).toContain(new X509Certificate(caPem).raw.toString('base64').slice(0, 40));
    expect(logs.text.length).toBeGreaterThan(1000);
    for (const key of privateKeys) {
      const pemBody = keyPem(key).replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
      const der = key.export({ format: 'der', type: 'pkcs8' });
      const d = key.export({ format: 'jwk' }).d!;
      for (const form of [pemBody.slice(0, 64), pemBody.slice(-64), der.toString('hex'), der.toString('base64url'), d, Buffer.from(d, 'base64url').toString('hex')]) {
        expect(dump).not.toContain(form);
        expect(logs.text).not.toContain(form);
        expect(audit).not.toContain(form);
        expect(api).not.toContain(form);
      }
    }
    expect(logs.text).not.toContain('PRIVATE KEY');
    expect(api).not.toMatch(/PRIVATE KEY|"privateKey"/);
  });
});
