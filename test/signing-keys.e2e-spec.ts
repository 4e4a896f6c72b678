import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { ChangeWriter, SigningKeys } from '@flagstream/changes';
import { DecryptionError, EnvelopeCipher, LocalKekProvider } from '@flagstream/crypto';
import { secretCipher } from '@flagstream/server';
import { createProject, createToken, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const run = promisify(execFile);
const P = (project: string) => `/api/v1/projects/${project}`;
const KID = /^[A-Za-z0-9_-]{43}$/;
const DAY_MS = 86_400_000;

/** Captures every log line the admin writes (at trace level). */
class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

interface Jwk extends JsonWebKey {
  kid: string;
  alg: 'EdDSA' | 'ES256';
  use: string;
}

/**
 * Verifies a compact JWT the way an independent relying party would: node:crypto only, the key
 * picked by `kid` from the JWKS the gateway serves. Returns the claims, or throws saying why not.
 */
function verifyJwt(token: string, jwks: { keys: Jwk[] }): Record<string, unknown> {
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg: string; kid: string; typ: string };
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no key ${header.kid} in the JWKS`);
  if (jwk.alg !== header.alg) throw new Error('alg mismatch');
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  const signature = Buffer.from(s, 'base64url');
  const ok = header.alg === 'EdDSA' ? verify(null, input, key, signature) : verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (!ok) throw new Error('bad signature');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) throw new Error('expired');
  return claims;
}

describe('signing keys: lifecycle, JWKS on the gateway, signing, scheduled rotation', () => {
  let h: AdminHarness;
  let gw: GatewayHarness;
  let owner: ApiClient;
  let editor: ApiClient;
  let viewer: ApiClient;
  /** The domain as a service that signs through the admin's database and KEK would use it. */
  let keys: SigningKeys;
  /** The KEK cipher of the harness, to open stored private keys independently of the service. */
  let cipher: EnvelopeCipher;
  const logs = new LogSink();
  /** Every private key this file has seen decrypted, as JWK `d` and as PKCS#8 DER: none may leak. */
  const privateForms: Array<{ kid: string; d: string; der: Buffer }> = [];

  const jwks = async (project: string) => {
    const res = await fetch(`${gw.url}/sdk/v1/projects/${project}/jwks.json`);
    return { status: res.status, cacheControl: res.headers.get('cache-control'), contentType: res.headers.get('content-type'), body: (await res.json()) as { keys: Jwk[]; error?: { message: string } } };
  };
  const kids = async (project: string) => (await jwks(project)).body.keys.map((k) => k.kid);

  async function projectId(key: string): Promise<string> {
    const [row] = await h.db.query<{ id: string }>('SELECT id FROM projects WHERE key = $1', [key]);
    return row.id;
  }

  /** Opens a stored private key with the harness's keyring and the documented AAD, and remembers its forms. */
  async function openPrivateKey(project: string, kid: string): Promise<{ d: string; der: Buffer }> {
    const [row] = await h.db.query<{ private_key: Buffer }>('SELECT private_key FROM signing_keys WHERE kid = $1', [kid]);
    const der = await cipher.decrypt(row.private_key, { purpose: 'signing-key', project: await projectId(project), environment: null, path: kid, version: 1 });
    const jwk = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
    privateForms.push({ kid, d: jwk.d!, der });
    return { d: jwk.d!, der };
  }

  beforeAll(async () => {
    h = await startAdmin({ logDestination: { level: 'trace', stream: logs } });
    gw = await startGateway(h);
    owner = h.api(h.ownerToken);
    editor = h.api(await createToken(h, 'editor'));
    viewer = h.api(await createToken(h, 'viewer'));
    await createProject(h, 'shop');
    await createProject(h, 'sched');
    cipher = secretCipher(LocalKekProvider.fromEnvValue(h.keyring), 1, { countUses: (v, n) => h.store.read.secrets.countKekUses(v, n) });
    keys = new SigningKeys(h.store, new ChangeWriter(h.store, h.relay), cipher);
  });

  afterAll(async () => {
    await gw?.close();
    await h?.close();
  });

  it('has settings with defaults, validated with the field named, changed by owners only and audited', async () => {
    const defaults = await viewer.get(`${P('shop')}/signing-key-settings`);
    expect(defaults.status).toBe(200);
    expect(defaults.body).toEqual({ project: 'shop', tokenLifetimeSeconds: 3600, jwksCacheSeconds: 300, rotationIntervalDays: null, overlapSeconds: 3900, updatedAt: null, updatedBy: null });

    expect((await editor.put(`${P('shop')}/signing-key-settings`, { tokenLifetimeSeconds: 600, jwksCacheSeconds: 60 })).status).toBe(403);
    const low = await owner.put(`${P('shop')}/signing-key-settings`, { tokenLifetimeSeconds: 10, jwksCacheSeconds: 60 });
    expect(low.status).toBe(400);
    expect(low.body.error.details).toEqual([{ path: 'tokenLifetimeSeconds', message: 'must be an integer from 60 to 604800' }]);
    const typed = await owner.put(`${P('shop')}/signing-key-settings`, { tokenLifetimeSeconds: '600', jwksCacheSeconds: 60, extra: 1 });
    expect(typed.status).toBe(400);
    expect(typed.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['extra', 'tokenLifetimeSeconds']);
    const short = await owner.put(`${P('shop')}/signing-key-settings`, { tokenLifetimeSeconds: 86_400, jwksCacheSeconds: 60, rotationIntervalDays: 1 });
    expect(short.status).toBe(400);
    expect(short.body.error.details).toEqual([
      { path: 'rotationIntervalDays', message: '86400 s is shorter than the overlap window tokenLifetimeSeconds + jwksCacheSeconds = 86460 s: keys would pile up in the JWKS' },
    ]);

    const set = await owner.put(`${P('shop')}/signing-key-settings`, { tokenLifetimeSeconds: 600, jwksCacheSeconds: 60 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ project: 'shop', tokenLifetimeSeconds: 600, jwksCacheSeconds: 60, rotationIntervalDays: null, overlapSeconds: 660, updatedBy: { type: 'token', name: 'owner (first start)' } });
    // The same settings again change nothing and audit nothing.
    expect((await owner.put(`${P('shop')}/signing-key-settings`, { tokenLifetimeSeconds: 600, jwksCacheSeconds: 60, rotationIntervalDays: null })).status).toBe(200);
    const audit = await h.db.query<{ action: string; before: unknown; after: unknown }>(`SELECT action, before, after FROM audit_events WHERE target_type = 'signing-key-settings' ORDER BY seq`);
    expect(audit).toEqual([
      {
        action: 'signing_key_settings.updated',
        before: { tokenLifetimeSeconds: 3600, jwksCacheSeconds: 300, rotationIntervalDays: null },
        after: { tokenLifetimeSeconds: 600, jwksCacheSeconds: 60, rotationIntervalDays: null },
      },
    ]);
  });

  it('serves no JWKS for unknown or malformed projects, and an empty one before any key', async () => {
    const unknown = await jwks('nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error!.message).toBe('project "nope" does not exist');
    expect((await jwks('Not_A_Key')).status).toBe(400);
    const empty = await jwks('shop');
    expect(empty).toMatchObject({ status: 200, cacheControl: 'public, max-age=60', body: { keys: [] } });
    expect(empty.contentType).toMatch(/^application\/json/);
  });

  let k1: string;
  it('generates a next key: published in the JWKS before it signs, without any private member', async () => {
    expect((await editor.post(`${P('shop')}/signing-keys`, { algorithm: 'EdDSA' })).status).toBe(403);
    const bad = await owner.post(`${P('shop')}/signing-keys`, { algorithm: 'RS256' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ path: 'algorithm', message: expect.stringContaining('algorithm must be one of the following values: EdDSA, ES256') }]);

    const created = await owner.post(`${P('shop')}/signing-keys`, { algorithm: 'EdDSA' });
    expect(created.status).toBe(201);
    k1 = created.body.kid;
    expect(k1).toMatch(KID);
    expect(created.body).toMatchObject({ algorithm: 'EdDSA', status: 'next', kekVersion: 1, privateKeyDestroyed: false, activatedAt: null, retireAfter: null });
    expect(created.body.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: k1, use: 'sig', alg: 'EdDSA' });

    const again = await owner.post(`${P('shop')}/signing-keys`, { algorithm: 'ES256' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe(`project "shop" has a next signing key already ("${k1}"): activate it or retire it first`);

    const published = await jwks('shop');
    expect(published.body.keys).toEqual([created.body.publicJwk]);
    // Nothing signs yet.
    await expect(keys.sign('shop', { sub: 'user-1' })).rejects.toThrow('project "shop" has no current signing key: generate one and activate it, or rotate');

    const listed = await viewer.get(`${P('shop')}/signing-keys`);
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([created.body]);
    await openPrivateKey('shop', k1);
  });

  it('activates a next key only after the JWKS cache time unless forced, and signs JWTs that verify against the gateway JWKS', async () => {
    const early = await owner.post(`${P('shop')}/signing-keys/${k1}/activate`);
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(new RegExp(`^signing key "${k1}" was published \\d+ s ago and verifiers may cache the JWKS for 60 s \\(jwksCacheSeconds\\): activate it at or after .+Z, or pass "force": true$`));
    expect((await owner.post(`${P('shop')}/signing-keys/not-a-kid/activate`)).status).toBe(400);
    const missing = await owner.post(`${P('shop')}/signing-keys/${'A'.repeat(43)}/activate`, { force: true });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe(`signing key "${'A'.repeat(43)}" does not exist in project "shop"`);

    const activated = await owner.post(`${P('shop')}/signing-keys/${k1}/activate`, { force: true });
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({ current: { kid: k1, status: 'current', activatedAt: expect.any(String) }, previous: null });
    const twice = await owner.post(`${P('shop')}/signing-keys/${k1}/activate`, { force: true });
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toBe(`cannot activate signing key "${k1}": it is the current key already`);

    const token = await keys.sign('shop', { sub: 'user-1', aud: 'billing' });
    const [header] = token.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'EdDSA', kid: k1, typ: 'JWT' });
    const claims = verifyJwt(token, (await jwks('shop')).body);
    expect(claims).toMatchObject({ sub: 'user-1', aud: 'billing' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
    const short = verifyJwt(await keys.sign('shop', { sub: 'u' }, { expiresInSeconds: 5 }), (await jwks('shop')).body);
    expect((short.exp as number) - (short.iat as number)).toBe(5);

    await expect(keys.sign('shop', { sub: 'u' }, { expiresInSeconds: 601 })).rejects.toMatchObject({
      status: 400,
      details: [{ path: 'expiresInSeconds', message: 'must be an integer from 1 to 600 (tokenLifetimeSeconds of project "shop")' }],
    });
    await expect(keys.sign('shop', { sub: 'u', exp: 1 })).rejects.toMatchObject({ status: 400, details: [{ path: 'claims.exp', message: expect.any(String) }] });
    // A tampered token does not verify.
    const [h0, , s0] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    const current = (await jwks('shop')).body;
    expect(() => verifyJwt(`${h0}.${forged}.${s0}`, current)).toThrow('bad signature');
  });

  let k2: string;
  it('rotates: the old key stays published as previous and its tokens still verify; retiring it removes it and destroys its private key', async () => {
    const before = await keys.sign('shop', { sub: 'old-token' });
    const rotated = await owner.post(`${P('shop')}/signing-keys/rotate`, { algorithm: 'ES256' });
    expect(rotated.status).toBe(200);
    k2 = rotated.body.current.kid;
    expect(rotated.body.current).toMatchObject({ algorithm: 'ES256', status: 'current', publicJwk: { kty: 'EC', crv: 'P-256', alg: 'ES256', kid: k2, use: 'sig' } });
    expect(rotated.body.previous).toMatchObject({ kid: k1, status: 'previous', deactivatedAt: expect.any(String), retireAfter: expect.any(String) });
    const { deactivatedAt, retireAfter } = rotated.body.previous as { deactivatedAt: string; retireAfter: string };
    // The overlap window: token lifetime (600 s) plus JWKS cache time (60 s).
    expect(Date.parse(retireAfter) - Date.parse(deactivatedAt)).toBe(660_000);
    await openPrivateKey('shop', k2);

    const published = (await jwks('shop')).body;
    expect(published.keys.map((k) => k.kid)).toEqual([k2, k1]);
    expect(verifyJwt(before, published)).toMatchObject({ sub: 'old-token' });
    const after = await keys.sign('shop', { sub: 'new-token' });
    expect(JSON.parse(Buffer.from(after.split('.')[0], 'base64url').toString())).toEqual({ alg: 'ES256', kid: k2, typ: 'JWT' });
    expect(verifyJwt(after, published)).toMatchObject({ sub: 'new-token' });

    const current = await owner.post(`${P('shop')}/signing-keys/${k2}/retire`);
    expect(current.status).toBe(409);
    expect(current.body.error.message).toBe(`signing key "${k2}" is the current key of project "shop": rotate or activate another key first`);
    const early = await owner.post(`${P('shop')}/signing-keys/${k1}/retire`);
    expect(early.status).toBe(409);
    expect(early.body.error.message).toBe(`signing key "${k1}" may still verify tokens until ${retireAfter} (token lifetime plus JWKS cache time after it stopped signing): retire it then, or pass "force": true`);
    expect((await editor.post(`${P('shop')}/signing-keys/${k1}/retire`, { force: true })).status).toBe(403);

    const retired = await owner.post(`${P('shop')}/signing-keys/${k1}/retire`, { force: true });
    expect(retired.status).toBe(200);
    expect(retired.body).toMatchObject({ kid: k1, status: 'retired', privateKeyDestroyed: true, kekVersion: null, retiredAt: expect.any(String) });
    expect(await kids('shop')).toEqual([k2]);
    expect(() => verifyJwt(before, { keys: published.keys.filter((k) => k.kid !== k1) })).toThrow(`no key ${k1} in the JWKS`);
    expect(await h.db.query(`SELECT status, private_key, kek_version FROM signing_keys WHERE kid = $1`, [k1])).toEqual([{ status: 'retired', private_key: null, kek_version: null }]);
    const again = await owner.post(`${P('shop')}/signing-keys/${k1}/retire`, { force: true });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe(`signing key "${k1}" is retired already`);
    expect((await owner.post(`${P('shop')}/signing-keys/${k1}/activate`, { force: true })).body.error.message).toBe(`cannot activate signing key "${k1}": it is retired (its private key is destroyed)`);
    // The database refuses to bring a retired key back, or to delete a key row.
    await expect(h.db.query(`UPDATE signing_keys SET status = 'current' WHERE kid = $1`, [k1])).rejects.toThrow('signing keys are immutable apart from their lifecycle');
    await expect(h.db.query(`DELETE FROM signing_keys WHERE kid = $1`, [k1])).rejects.toThrow('signing_keys rows are never deleted');
  });

  it('refuses to rotate over a waiting next key, and retires a next key at once (it never signed)', async () => {
    const next = await owner.post(`${P('shop')}/signing-keys`, { algorithm: 'EdDSA' });
    expect(next.status).toBe(201);
    const k3 = next.body.kid as string;
    await openPrivateKey('shop', k3);
    const rotate = await owner.post(`${P('shop')}/signing-keys/rotate`, {});
    expect(rotate.status).toBe(409);
    expect(rotate.body.error.message).toBe(`project "shop" has a next signing key already ("${k3}"): activate it or retire it first`);
    expect(await kids('shop')).toEqual([k2, k3]);

    const retired = await owner.post(`${P('shop')}/signing-keys/${k3}/retire`);
    expect(retired.status).toBe(200);
    expect(retired.body).toMatchObject({ kid: k3, status: 'retired', activatedAt: null, privateKeyDestroyed: true });
    expect(await kids('shop')).toEqual([k2]);

    const audit = await h.db.query<{ action: string; target_key: string; after: Record<string, unknown> }>(
      `SELECT action, target_key, after FROM audit_events WHERE target_type = 'signing-key' AND project_key = 'shop' ORDER BY seq`,
    );
    expect(audit.map((a) => [a.action, a.target_key, a.after.status])).toEqual([
      ['signing_key.generated', k1, 'next'],
      ['signing_key.activated', k1, 'current'],
      ['signing_key.rotated', k2, 'current'],
      ['signing_key.retired', k1, 'retired'],
      ['signing_key.generated', k3, 'next'],
      ['signing_key.retired', k3, 'retired'],
    ]);
    expect(audit[1].after).toEqual({ kid: k1, status: 'current', previous: null, forced: true });
    expect(audit[2].after).toEqual({ kid: k2, algorithm: 'ES256', status: 'current', previous: { kid: k1, status: 'previous', retireAfter: expect.any(String) } });
    expect(audit[3].after).toEqual({ kid: k1, status: 'retired', from: 'previous', privateKeyDestroyed: true, forced: true });
  });

  it('schedules rotation: a next key ahead of time, activation after the JWKS cache time, retirement after the overlap', async () => {
    expect((await owner.put(`${P('sched')}/signing-key-settings`, { tokenLifetimeSeconds: 600, jwksCacheSeconds: 60, rotationIntervalDays: 1 })).status).toBe(200);
    const first = await owner.post(`${P('sched')}/signing-keys/rotate`, {});
    expect(first.status).toBe(200);
    const s1 = first.body.current.kid as string;
    expect(first.body.current.algorithm).toBe('EdDSA');
    const t = Date.parse(first.body.current.activatedAt);
    const pass = async (ms: number, on: SigningKeys = keys) => {
      const report = await on.runDueSigningKeyRotations(new Date(t + ms), 'job-1');
      const mine = (list: Array<{ project: string; kid: string | null }>) => list.filter((x) => x.project === 'sched').map((x) => x.kid);
      return { generated: mine(report.generated), activated: mine(report.activated), retired: mine(report.retired), failures: report.failures.filter((f) => f.project === 'sched') };
    };
    const nothing = { generated: [], activated: [], retired: [], failures: [] };

    expect(await pass(DAY_MS - 61_000)).toEqual(nothing);
    // Two workers judging the same state at once: the step is re-judged in its transaction, so one generates.
    const both = await Promise.all([pass(DAY_MS - 60_000), pass(DAY_MS - 60_000)]);
    expect(both.flatMap((b) => b.generated)).toEqual([expect.stringMatching(KID)]);
    expect(both.flatMap((b) => [...b.activated, ...b.retired, ...b.failures])).toEqual([]);
    const s2 = both.flatMap((b) => b.generated)[0]!;
    expect(await kids('sched')).toEqual([s1, s2]);
    // A repeat (a second worker, a retried job) does nothing twice.
    expect(await pass(DAY_MS - 60_000)).toEqual(nothing);
    expect(await pass(DAY_MS - 1)).toEqual(nothing);

    expect(await pass(DAY_MS)).toEqual({ ...nothing, activated: [s2] });
    const published = (await jwks('sched')).body;
    expect(published.keys.map((k) => k.kid)).toEqual([s2, s1]);
    const token = await keys.sign('sched', { sub: 'scheduled' });
    expect(verifyJwt(token, published)).toMatchObject({ sub: 'scheduled' });
    await openPrivateKey('sched', s2);

    expect(await pass(DAY_MS + 659_999)).toEqual(nothing);
    expect(await pass(DAY_MS + 660_000)).toEqual({ ...nothing, retired: [s1] });
    expect(await kids('sched')).toEqual([s2]);
    expect(await h.db.query(`SELECT status, private_key FROM signing_keys WHERE kid = $1`, [s1])).toEqual([{ status: 'retired', private_key: null }]);

    // A worker without the KEK can retire and activate, but not generate: reported, not thrown.
    const noKek = new SigningKeys(h.store, new ChangeWriter(h.store, h.relay), null);
    expect(await pass(2 * DAY_MS - 60_000, noKek)).toEqual({
      ...nothing,
      failures: [{ project: 'sched', action: 'generate', kid: null, error: 'signing keys are not available: this process has no key-encryption key (FLAGSTREAM_KEK)' }],
    });

    const audit = await h.db.query<{ action: string; actor_type: string; actor_name: string; request_id: string; reason: string; after: Record<string, unknown> }>(
      `SELECT action, actor_type, actor_name, request_id, reason, after FROM audit_events WHERE target_type = 'signing-key' AND project_key = 'sched' AND actor_name = 'scheduler' ORDER BY seq`,
    );
    expect(audit.map((a) => [a.action, a.after.kid, a.after.scheduled])).toEqual([
      ['signing_key.generated', s2, true],
      ['signing_key.activated', s2, true],
      ['signing_key.retired', s1, true],
    ]);
    expect(audit.every((a) => a.actor_type === 'system' && a.request_id === 'job-1' && a.reason.startsWith('scheduled signing key rotation: '))).toBe(true);
  });

  it('activates without force once the key has been published for the JWKS cache time', async () => {
    await createProject(h, 'quick');
    expect((await owner.put(`${P('quick')}/signing-key-settings`, { tokenLifetimeSeconds: 60, jwksCacheSeconds: 0 })).status).toBe(200);
    const next = await owner.post(`${P('quick')}/signing-keys`, { algorithm: 'ES256' });
    const activated = await owner.post(`${P('quick')}/signing-keys/${next.body.kid}/activate`);
    expect(activated.status).toBe(200);
    expect(activated.body.current).toMatchObject({ kid: next.body.kid, status: 'current' });
    const [event] = await h.db.query<{ after: unknown }>(`SELECT after FROM audit_events WHERE action = 'signing_key.activated' AND project_key = 'quick'`);
    expect(event.after).toEqual({ kid: next.body.kid, status: 'current', previous: null });
    const claims = verifyJwt(await keys.sign('quick', { sub: 'q' }), (await jwks('quick')).body);
    expect((claims.exp as number) - (claims.iat as number)).toBe(60);
    expect((await jwks('quick')).cacheControl).toBe('public, max-age=0');
  });

  it('keeps role and project boundaries: viewers read, only owners of the project write', async () => {
    const scopedOwner = h.api(await createToken(h, 'owner', 'sched'));
    expect((await viewer.get(`${P('shop')}/signing-keys`)).status).toBe(200);
    expect((await viewer.get(`${P('shop')}/signing-key-settings`)).status).toBe(200);
    const before = await h.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
    for (const as of [viewer, editor]) {
      expect((await as.post(`${P('shop')}/signing-keys`, { algorithm: 'EdDSA' })).status).toBe(403);
      expect((await as.post(`${P('shop')}/signing-keys/rotate`, {})).status).toBe(403);
      expect((await as.post(`${P('shop')}/signing-keys/${k2}/activate`, {})).status).toBe(403);
      expect((await as.put(`${P('shop')}/signing-key-settings`, { tokenLifetimeSeconds: 900, jwksCacheSeconds: 60 })).status).toBe(403);
    }
    expect((await scopedOwner.get(`${P('shop')}/signing-keys`)).status).toBe(403);
    expect((await scopedOwner.post(`${P('shop')}/signing-keys/rotate`, {})).status).toBe(403);
    expect(await h.db.query<{ n: string }>('SELECT count(*) AS n FROM audit_events')).toEqual(before);
    expect(await kids('shop')).toEqual([k2]);
  });

  it('stores private keys only encrypted and bound to their row; no dump, log line, audit record or API answer holds them', async () => {
    const shop = await projectId('shop');
    const [live] = await h.db.query<{ private_key: Buffer; kek_version: number }>('SELECT private_key, kek_version FROM signing_keys WHERE kid = $1', [k2]);
    expect(live.kek_version).toBe(1);
    // Bound to its identity: another kid, project or purpose does not open it.
    for (const wrong of [
      { purpose: 'signing-key', project: shop, environment: null, path: k1, version: 1 },
      { purpose: 'signing-key', project: await projectId('sched'), environment: null, path: k2, version: 1 },
      { purpose: 'secret', project: shop, environment: null, path: k2, version: 1 },
    ]) {
      await expect(cipher.decrypt(live.private_key, wrong)).rejects.toBeInstanceOf(DecryptionError);
    }
    // What was opened is the private half of the published key.
    const k2Private = privateForms.find((f) => f.kid === k2)!;
    const derived = createPublicKey(createPrivateKey({ key: k2Private.der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
    const publishedK2 = (await jwks('shop')).body.keys[0];
    expect({ x: derived.x, y: derived.y }).toEqual({ x: publishedK2.x, y: publishedK2.y });

    expect(privateForms.map((f) => f.kid)).toEqual(expect.arrayContaining([k1, k2]));
    const api = JSON.stringify([(await owner.get(`${P('shop')}/signing-keys`)).body, (await owner.get(`${P('sched')}/signing-keys`)).body]);
    const audit = JSON.stringify(await h.db.query('SELECT row_to_json(a)::text AS r FROM audit_events a'));
    const { stdout: dump } = await run('pg_dump', ['--data-only', '--no-owner', h.db.url], { maxBuffer: 256 * 1024 * 1024 });
    // The dump does hold the private keys, encrypted (bytea in hex): the search below covers them.
    expect(dump).toContain(live.private_key.toString('hex'));
    expect(logs.text.length).toBeGreaterThan(1000);
    for (const { d, der } of privateForms) {
      const forms = [d, Buffer.from(d, 'base64url').toString('hex'), Buffer.from(d, 'base64url').toString('base64'), der.toString('hex'), der.toString('base64'), der.toString('base64url')];
      for (const form of forms) {
        expect(dump).not.toContain(form);
        expect(logs.text).not.toContain(form);
        expect(audit).not.toContain(form);
        expect(api).not.toContain(form);
      }
    }
    expect(api).not.toMatch(/"d"|private_key|PRIVATE KEY/);
  });
});
