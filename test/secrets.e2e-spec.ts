import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createProject, createToken, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';

const run = promisify(execFile);
const P = '/api/v1/projects/shop';
const S = (env: string) => `${P}/environments/${env}/secrets`;
/** Every plaintext this file writes: none may appear in logs, audit records or a database dump. */
const PLAINTEXTS = ['sk_live_51H8xPlainTextOne', 'sk_live_51H8xPlainTextTwo', 'eu-db-password-Q7!x', 'staging-token-zz9'];

/** Captures every log line the admin writes (at trace level). */
class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('secrets: versions, policies, reveal, inheritance, destroy (admin API)', () => {
  let h: AdminHarness;
  let owner: ApiClient;
  let editor: ApiClient;
  let viewer: ApiClient;
  const logs = new LogSink();

  beforeAll(async () => {
    h = await startAdmin({ logDestination: { level: 'trace', stream: logs } });
    owner = h.api(h.ownerToken);
    editor = h.api(await createToken(h, 'editor'));
    viewer = h.api(await createToken(h, 'viewer'));
    await createProject(h, 'shop');
    expect((await owner.post(`${P}/environments`, { key: 'production-eu', name: 'production-eu', parent: 'production' })).status).toBe(201);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('writes immutable versions and lists them without values', async () => {
    const first = await owner.put(`${S('production')}/payments/stripe/api-key`, { value: PLAINTEXTS[0] });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ path: 'payments/stripe/api-key', environment: 'production', definedIn: 'production', inherited: false, currentVersion: 1, deleted: false });
    const second = await owner.put(`${S('production')}/payments/stripe/api-key`, { value: PLAINTEXTS[1] });
    expect(second.body.currentVersion).toBe(2);
    const got = await viewer.get(`${S('production')}/payments/stripe/api-key`);
    expect(got.status).toBe(200);
    expect(got.body.versions.map((v: { version: number; kekVersion: number; destroyed: boolean }) => [v.version, v.kekVersion, v.destroyed])).toEqual([
      [1, 1, false],
      [2, 1, false],
    ]);
    expect(JSON.stringify(got.body)).not.toMatch(/sk_live|ciphertext|value/);
    // Protected production: editors may not write there; staging they may.
    expect((await editor.put(`${S('production')}/payments/stripe/api-key`, { value: 'x' })).status).toBe(403);
    expect((await editor.put(`${S('staging')}/payments/stripe/api-key`, { value: PLAINTEXTS[3] })).status).toBe(200);
  });

  it('reveals only through a policy (deny by default), and audits every reveal and refusal without the value', async () => {
    const reveal = (as: ApiClient, env: string, body: object = {}) => as.post(`${S(env)}/payments/stripe/api-key:reveal`, body);
    const denied = await reveal(owner, 'production');
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toBe('no secret policy lets this owner token read "payments/stripe/api-key" in environment "production"');

    const policy = await owner.post(`${P}/secret-policies`, { subject: { type: 'role', role: 'owner' }, paths: ['payments/**'], environments: ['production'] });
    expect(policy.status).toBe(201);
    const current = await reveal(owner, 'production');
    expect(current.status).toBe(200);
    expect(current.body).toEqual({ path: 'payments/stripe/api-key', environment: 'production', definedIn: 'production', version: 2, value: PLAINTEXTS[1] });
    expect((await reveal(owner, 'production', { version: 1 })).body.value).toBe(PLAINTEXTS[0]);
    // The grant is for owners in production: editors are refused, and so is staging.
    expect((await reveal(editor, 'production')).status).toBe(403);
    expect((await reveal(owner, 'staging')).status).toBe(403);
    // Only owners manage grants.
    expect((await editor.post(`${P}/secret-policies`, { subject: { type: 'role', role: 'editor' }, paths: ['**'], environments: '*' })).status).toBe(403);

    const audit = await h.db.query<{ action: string; actor_name: string; payload: unknown }>(
      `SELECT action, actor_name, row_to_json(a)::text AS payload FROM audit_events a WHERE target_type = 'secret' AND action LIKE 'secret.reveal%' ORDER BY seq`,
    );
    expect(audit.map((a) => [a.action, a.actor_name])).toEqual([
      ['secret.reveal_denied', 'owner (first start)'],
      ['secret.revealed', 'owner (first start)'],
      ['secret.revealed', 'owner (first start)'],
      ['secret.reveal_denied', 'editor'],
      ['secret.reveal_denied', 'owner (first start)'],
    ]);
    for (const a of audit) for (const p of PLAINTEXTS) expect(String(a.payload)).not.toContain(p);
  });

  it('inherits down the environment chain; the child needs its own grant', async () => {
    const list = await viewer.get(S('production-eu'));
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ path: 'payments/stripe/api-key', environment: 'production-eu', definedIn: 'production', inherited: true, currentVersion: 2 })]);
    expect((await owner.post(`${S('production-eu')}/payments/stripe/api-key:reveal`)).status).toBe(403);
    expect((await owner.post(`${P}/secret-policies`, { subject: { type: 'role', role: 'owner' }, paths: ['**'], environments: ['production-eu'] })).status).toBe(201);
    const inherited = await owner.post(`${S('production-eu')}/payments/stripe/api-key:reveal`);
    expect(inherited.body).toMatchObject({ environment: 'production-eu', definedIn: 'production', version: 2, value: PLAINTEXTS[1] });
    // Its own value overrides the parent's.
    expect((await owner.put(`${S('production-eu')}/payments/stripe/api-key`, { value: PLAINTEXTS[2] })).status).toBe(200);
    const own = await owner.post(`${S('production-eu')}/payments/stripe/api-key:reveal`);
    expect(own.body).toMatchObject({ definedIn: 'production-eu', version: 1, value: PLAINTEXTS[2] });
    expect((await viewer.get(`${S('production-eu')}?prefix=payments`)).body.items.map((i: { definedIn: string }) => i.definedIn)).toEqual(['production-eu']);
  });

  it('rolls back to an old version as a new one, destroys a version for good, soft-deletes and restores', async () => {
    const path = `${S('production')}/payments/stripe/api-key`;
    const rolled = await owner.post(`${path}:rollback`, { version: 1 });
    expect(rolled.status).toBe(200);
    expect(rolled.body.currentVersion).toBe(3);
    expect((await owner.post(`${path}:reveal`)).body).toMatchObject({ version: 3, value: PLAINTEXTS[0] });

    expect((await editor.post(`${path}:destroy`, { version: 1 })).status).toBe(403);
    const destroyed = await owner.post(`${path}:destroy`, { version: 1 });
    expect(destroyed.status).toBe(200);
    expect(destroyed.body.versions[0]).toMatchObject({ version: 1, destroyed: true, kekVersion: null });
    const [row] = await h.db.query<{ ciphertext: Buffer | null }>(`SELECT ciphertext FROM secret_versions v JOIN secrets s ON s.id = v.secret_id JOIN environments e ON e.id = s.environment_id WHERE e.key = 'production' AND v.version = 1`);
    expect(row.ciphertext).toBeNull();
    const gone = await owner.post(`${path}:reveal`, { version: 1 });
    expect(gone.status).toBe(409);
    expect(gone.body.error.message).toBe('version 1 of secret "payments/stripe/api-key" was destroyed');
    expect((await owner.post(`${path}:destroy`, { version: 1 })).status).toBe(409);
    expect((await owner.post(`${path}:rollback`, { version: 1 })).status).toBe(409);

    expect((await owner.delete(path)).status).toBe(200);
    expect((await owner.post(`${path}:reveal`)).status).toBe(404);
    expect((await viewer.get(S('production'))).body.items).toEqual([]);
    expect((await owner.put(path, { value: 'new' })).status).toBe(409);
    const restored = await owner.post(`${path}:restore`);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ deleted: false, currentVersion: 3 });
    expect((await owner.post(`${path}:reveal`)).body.value).toBe(PLAINTEXTS[0]);
  });

  it('keeps rollback, restore and destroy to their roles, and to owners in a protected environment', async () => {
    const prod = `${S('production')}/payments/stripe/api-key`;
    const staging = `${S('staging')}/payments/stripe/api-key`;
    for (const action of [':rollback', ':restore']) {
      expect((await viewer.post(`${staging}${action}`, { version: 1 })).status).toBe(403);
      expect((await editor.post(`${prod}${action}`, { version: 1 })).status).toBe(403);
    }
    expect((await viewer.delete(staging)).status).toBe(403);
    expect((await editor.delete(prod)).status).toBe(403);
    expect((await editor.post(`${staging}:destroy`, { version: 1 })).status).toBe(403);
    // Allowed: an editor in staging.
    expect((await editor.post(`${staging}:rollback`, { version: 1 })).body.currentVersion).toBe(2);
  });

  it('refuses bad input with 400 and the place of the problem', async () => {
    const bad = async (res: Promise<{ status: number; body: { error: { details?: Array<{ path: string }> } } }>, status: number, path?: string) => {
      const r = await res;
      expect(r.status).toBe(status);
      if (path) expect(r.body.error.details?.map((d) => d.path)).toContain(path);
    };
    await bad(owner.put(`${S('production')}/Payments/Key`, { value: 'x' }), 400, 'path');
    await bad(owner.put(`${S('production')}/a//b`, { value: 'x' }), 400, 'path');
    await bad(owner.put(`${S('production')}/ok/path`, { value: '' }), 400, 'value');
    await bad(owner.put(`${S('production')}/ok/path`, { value: 'x'.repeat(64 * 1024 + 1) }), 400, 'value');
    await bad(owner.put(`${S('production')}/ok/path`, {}), 400, 'value');
    await bad(owner.post(`${S('production')}/payments/stripe/api-key:explode`), 400, 'path');
    await bad(owner.post(`${S('production')}/payments/stripe/api-key:rollback`, {}), 400, 'version');
    await bad(owner.post(`${S('production')}/payments/stripe/api-key:reveal`, { version: 0 }), 400, 'version');
    await bad(owner.post(`${S('production')}/payments/stripe/api-key:reveal`, { version: 99 }), 404);
    await bad(owner.get(`${S('production')}/no/such/secret`), 404);
    // A body that is not JSON: the answer says where it broke, never quoting the body.
    const broken = await owner.raw().put(`${S('production')}/ok/path`).set('Authorization', `Bearer ${h.ownerToken}`).set('content-type', 'application/json').send('{"value": sk_live_51H8xPlainTextOne}');
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toMatch(/^request body is not valid JSON/);
    expect(JSON.stringify(broken.body)).not.toContain('sk_live');
    await bad(owner.post(`${S('production')}/payments/stripe/api-key:reveal`, { version: 3_000_000_000 }), 400, 'version');
    await bad(owner.get(`${S('nowhere')}/a`), 404);
    await bad(owner.post(`${P}/secret-policies`, { subject: { type: 'role', role: 'owner' }, paths: ['Bad'], environments: ['nowhere'] }), 400, 'paths.0');
    await bad(owner.post(`${P}/secret-policies`, { subject: { type: 'role', role: 'owner' }, paths: ['**'], environments: ['nowhere'] }), 400, 'environments.0');
    await bad(owner.post(`${P}/secret-policies`, { subject: { type: 'sdk-key', id: '00000000-0000-4000-8000-000000000000' }, paths: ['**'], environments: '*' }), 400, 'subject.id');
    await bad(owner.post(`${P}/secret-policies`, { subject: { type: 'role', role: 'root' }, paths: ['**'], environments: '*' }), 400);
  });

  it('binds each ciphertext to its row: a value copied to another row fails to decrypt and reveals nothing', async () => {
    await owner.put(`${S('production')}/copy/a`, { value: 'value-a-0001' });
    await owner.put(`${S('production')}/copy/b`, { value: 'value-b-0002' });
    await owner.post(`${P}/secret-policies`, { subject: { type: 'role', role: 'owner' }, paths: ['copy/*'], environments: ['production'] });
    await h.db.query(
      `UPDATE secret_versions SET ciphertext = (SELECT v.ciphertext FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.path = 'copy/a')
       WHERE secret_id = (SELECT id FROM secrets WHERE path = 'copy/b')`,
    );
    const res = await owner.post(`${S('production')}/copy/b:reveal`);
    expect(res.status).toBe(500);
    expect(JSON.stringify(res.body)).not.toContain('value-a-0001');
    expect((await owner.post(`${S('production')}/copy/a:reveal`)).body.value).toBe('value-a-0001');
  });

  it('leaves no plaintext in the logs, the audit trail or a dump of the database', async () => {
    expect(logs.text.length).toBeGreaterThan(1000);
    // Every encryption counted one use of KEK version 1 (8 versions written in this file).
    expect(await h.db.query('SELECT kek_version, uses FROM kek_usage')).toEqual([{ kek_version: 1, uses: '8' }]);
    const { stdout: dump } = await run('pg_dump', ['--data-only', '--no-owner', h.db.url], { maxBuffer: 256 * 1024 * 1024 });
    expect(dump).toContain('secret_versions');
    for (const p of PLAINTEXTS) {
      expect(logs.text).not.toContain(p);
      expect(dump).not.toContain(p);
      expect(dump).not.toContain(Buffer.from(p).toString('hex'));
    }
  });
});
