import { createHash } from 'node:crypto';
import { changeStreamKey, type ChangeEventV1 } from '@flagstream/protocol';
import { createProject, createToken, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';

const P = '/api/v1/projects/shop';

describe('admin API', () => {
  let h: AdminHarness;
  let api: ApiClient;

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
  });
  afterAll(async () => {
    await h.close();
  });

  async function envId(key: string): Promise<string> {
    const [row] = await h.db.query<{ id: string }>(`SELECT e.id FROM environments e JOIN projects p ON p.id = e.project_id WHERE p.key = 'shop' AND e.key = $1`, [key]);
    return row.id;
  }

  async function streamEvents(env: string): Promise<ChangeEventV1[]> {
    const entries = await h.redis.xrange(changeStreamKey(h.prefix, await envId(env)), '-', '+');
    return entries.map(([, fields]) => JSON.parse(fields[1]) as ChangeEventV1);
  }

  describe('projects and environments', () => {
    it('creates a project with an ETag and refuses a duplicate key', async () => {
      const res = await api.post('/api/v1/projects', { key: 'billing', name: 'Billing' });
      expect(res.status).toBe(201);
      expect(res.headers.etag).toBe('"1"');
      expect(res.body).toMatchObject({ key: 'billing', name: 'Billing', description: '', version: 1 });
      const dup = await api.post('/api/v1/projects', { key: 'billing', name: 'Again' });
      expect(dup.status).toBe(409);
      expect(dup.body.error).toMatchObject({ code: 'CONFLICT', message: 'project "billing" already exists' });
    });

    it('rejects an invalid key with the path of the field', async () => {
      const res = await api.post('/api/v1/projects', { key: 'Not A Slug', name: 'x' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.details).toEqual([{ path: 'key', message: expect.stringMatching(/^key must be a slug/) }]);
    });

    it('lists environments with parents and refuses an inheritance cycle', async () => {
      const child = await api.post(`${P}/environments`, { key: 'prod-eu', name: 'Prod EU', parent: 'production' });
      expect(child.status).toBe(201);
      expect(child.body).toMatchObject({ key: 'prod-eu', parent: 'production', revision: 0, protected: false });
      const prod = await api.get(`${P}/environments/production`);
      const cycle = await api.patch(`${P}/environments/production`, { parent: 'prod-eu', version: prod.body.version });
      expect(cycle.status).toBe(400);
      expect(cycle.body.error.details).toEqual([{ path: 'parent', message: '"prod-eu" inherits from "production"' }]);
      const missing = await api.post(`${P}/environments`, { key: 'qa', name: 'QA', parent: 'nope' });
      expect(missing.status).toBe(400);
      const list = await api.get(`${P}/environments?limit=2`);
      expect(list.body.items.map((e: { key: string }) => e.key)).toEqual(['development', 'prod-eu']);
      const next = await api.get(`${P}/environments?limit=2&cursor=${list.body.nextCursor}`);
      expect(next.body.items.map((e: { key: string }) => e.key)).toEqual(['production', 'staging']);
      expect(next.body.nextCursor).toBeNull();
    });

    it('answers 404 for an unknown project', async () => {
      const res = await api.get('/api/v1/projects/nope/flags');
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'project "nope" does not exist' });
    });
  });

  describe('flags and the change pipeline', () => {
    it('creates a boolean flag with default variations, off in every environment, and streams it', async () => {
      const res = await api.post(`${P}/flags`, { key: 'new-checkout', kind: 'boolean', tags: ['checkout'] });
      expect(res.status).toBe(201);
      expect(res.body.variations).toEqual([{ key: 'on', value: true }, { key: 'off', value: false }]);
      const flag = await api.get(`${P}/flags/new-checkout`);
      expect(Object.keys(flag.body.environments).sort()).toEqual(expect.arrayContaining(['development', 'production', 'staging']));
      expect(flag.body.environments.staging).toMatchObject({ on: false, offVariation: 'off', defaultServe: { variation: 'on' }, salt: 'new-checkout', rules: [], version: 1 });
      const events = await eventually(async () => {
        const e = await streamEvents('staging');
        return e.length ? e : undefined;
      });
      expect(events[0]).toMatchObject({ v: 1, project: 'shop', environment: 'staging', revision: 1, changes: [{ type: 'flag.upsert', flag: { key: 'new-checkout', settings: { on: false } } }] });
    });

    it('refuses a non-boolean flag without variations, naming the field', async () => {
      const res = await api.post(`${P}/flags`, { key: 'banner', kind: 'string' });
      expect(res.status).toBe(400);
      expect(res.body.error.details.length).toBeGreaterThan(0);
      expect(res.body.error.details[0].path).toMatch(/^variations/);
      expect((await api.get(`${P}/flags/banner`)).status).toBe(404);
    });

    it('replaces settings with rules validated by the targeting engine, one revision per write', async () => {
      const before = (await api.get(`${P}/environments/staging`)).body.revision;
      const body = {
        on: true,
        offVariation: 'off',
        prerequisites: [],
        rules: [{ id: 'beta', clauses: [{ attribute: 'country', operator: 'in', values: ['de', 'fr'] }], serve: { variation: 'on' } }],
        defaultServe: { rollout: { variations: [{ variation: 'on', weight: 10000 }, { variation: 'off', weight: 90000 }] } },
      };
      const res = await api.put(`${P}/flags/new-checkout/environments/staging`, body).set('If-Match', '"1"');
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe('"2"');
      expect(res.body).toMatchObject({ ...body, salt: 'new-checkout', version: 2 });
      const after = (await api.get(`${P}/environments/staging`)).body.revision;
      expect(after).toBe(before + 1);
      const events = await eventually(async () => {
        const e = await streamEvents('staging');
        return e.find((x) => x.revision === after) ? e : undefined;
      });
      expect(events.map((e) => e.revision)).toEqual(Array.from({ length: after }, (_, i) => i + 1));
      expect(events[after - 1].changes).toEqual([{ type: 'flag.upsert', flag: expect.objectContaining({ key: 'new-checkout', settings: { ...body, salt: 'new-checkout' } }) }]);
    });

    it('rejects invalid rules with their JSON paths and writes nothing', async () => {
      const revision = (await api.get(`${P}/environments/staging`)).body.revision;
      const res = await api.put(`${P}/flags/new-checkout/environments/staging`, {
        on: true,
        offVariation: 'off',
        prerequisites: [],
        rules: [{ id: 'r', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'maybe' } }],
        defaultServe: { rollout: { variations: [{ variation: 'on', weight: 1 }] } },
        version: 2,
      });
      expect(res.status).toBe(400);
      const paths = res.body.error.details.map((d: { path: string }) => d.path);
      expect(paths).toEqual(expect.arrayContaining(['rules[0].serve.variation']));
      expect(paths.some((p: string) => p.startsWith('defaultServe.rollout'))).toBe(true);
      expect((await api.get(`${P}/environments/staging`)).body.revision).toBe(revision);
      expect((await api.get(`${P}/flags/new-checkout/environments/staging`)).body.version).toBe(2);
    });

    it('needs a version (428) and refuses a stale one (409) without overwriting', async () => {
      const body = { on: false, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'off' } };
      const missing = await api.put(`${P}/flags/new-checkout/environments/staging`, body);
      expect(missing.status).toBe(428);
      expect(missing.body.error.code).toBe('PRECONDITION_REQUIRED');
      const stale = await api.put(`${P}/flags/new-checkout/environments/staging`, { ...body, version: 1 });
      expect(stale.status).toBe(409);
      expect(stale.body.error).toMatchObject({ code: 'VERSION_CONFLICT', details: [{ path: 'version', message: 'expected 2, got 1' }] });
      const current = await api.get(`${P}/flags/new-checkout/environments/staging`);
      expect(current.body).toMatchObject({ on: true, version: 2 });
    });

    it('kills a flag in one call, idempotently, and audits who did it', async () => {
      const off = await api.post(`${P}/flags/new-checkout/environments/staging/toggle`, { on: false }).set('X-Flagstream-Reason', 'incident 42');
      expect(off.status).toBe(200);
      expect(off.body).toMatchObject({ on: false, version: 3 });
      const again = await api.post(`${P}/flags/new-checkout/environments/staging/toggle`, { on: false });
      expect(again.body.version).toBe(3);
      const audit = await api.get('/api/v1/audit?action=flag.turned_off&targetKey=new-checkout');
      expect(audit.status).toBe(200);
      expect(audit.body.items[0]).toMatchObject({
        action: 'flag.turned_off',
        actor: { type: 'token', name: 'owner (first start)' },
        target: { type: 'flag', key: 'new-checkout' },
        project: 'shop',
        environment: 'staging',
        reason: 'incident 42',
        before: { on: true },
        after: { on: false },
      });
    });

    it('refuses an editor in a protected environment but lets the owner in', async () => {
      const editor = await createToken(h, 'editor');
      const refused = await h.api(editor).post(`${P}/flags/new-checkout/environments/production/toggle`, { on: true });
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe('environment "production" is protected: changes there need the owner role');
      const allowed = await api.post(`${P}/flags/new-checkout/environments/production/toggle`, { on: true });
      expect(allowed.status).toBe(200);
    });

    it('archives a flag (removed from streams, kept in the database) and restores it', async () => {
      await api.post(`${P}/flags`, { key: 'old-banner', kind: 'boolean' });
      const archived = await api.post(`${P}/flags/old-banner/archive`);
      expect(archived.status).toBe(200);
      expect(archived.body.archived).toBe(true);
      const last = await eventually(async () => {
        const e = await streamEvents('development');
        const ev = e[e.length - 1];
        return ev?.changes[0]?.type === 'flag.delete' ? ev : undefined;
      });
      expect(last.changes).toEqual([{ type: 'flag.delete', key: 'old-banner' }]);
      expect((await api.get(`${P}/flags?archived=true`)).body.items.map((f: { key: string }) => f.key)).toEqual(['old-banner']);
      const restored = await api.post(`${P}/flags/old-banner/restore`);
      expect(restored.body.archived).toBe(false);
    });

    it('refuses to archive a prerequisite of another flag', async () => {
      await api.post(`${P}/flags`, { key: 'base', kind: 'boolean' });
      await api.post(`${P}/flags`, { key: 'dependent', kind: 'boolean' });
      const put = await api.put(`${P}/flags/dependent/environments/development`, {
        on: true, offVariation: 'off', prerequisites: [{ flag: 'base', variations: ['on'] }], rules: [], defaultServe: { variation: 'on' }, version: 1,
      });
      expect(put.status).toBe(200);
      const res = await api.post(`${P}/flags/base/archive`);
      expect(res.status).toBe(409);
      expect(res.body.error.message).toBe('flag "base" is a prerequisite of "dependent"; remove it there first');
    });

    it("starts a new environment's stream with every flag, off", async () => {
      const res = await api.post(`${P}/environments`, { key: 'qa', name: 'QA' });
      expect(res.status).toBe(201);
      const events = await eventually(async () => {
        const e = await streamEvents('qa');
        return e.length ? e : undefined;
      });
      expect(events).toHaveLength(1);
      expect(events[0].revision).toBe(1);
      const upserts = events[0].changes.filter((c) => c.type === 'flag.upsert');
      expect(upserts.map((c) => (c.type === 'flag.upsert' ? c.flag.key : '')).sort()).toEqual(['base', 'dependent', 'new-checkout', 'old-banner']);
      expect(upserts.every((c) => c.type === 'flag.upsert' && c.flag.settings.on === false)).toBe(true);
      expect((await api.get(`${P}/environments/qa`)).body.revision).toBe(1);
    });

    it('lets only an owner archive a flag that is on in a protected environment', async () => {
      const editor = await createToken(h, 'editor');
      const refused = await h.api(editor).post(`${P}/flags/new-checkout/archive`);
      expect(refused.status).toBe(403);
      expect(refused.body.error.message).toBe('flag "new-checkout" is on in protected environment "production": archiving it needs the owner role');
      expect((await api.get(`${P}/flags/new-checkout`)).body.archived).toBe(false);
    });

    it('refuses to drop a variation that settings still use', async () => {
      const flag = await api.get(`${P}/flags/new-checkout`);
      const res = await api.patch(`${P}/flags/new-checkout`, { variations: [{ key: 'on', value: true }, { key: 'disabled', value: false }], version: flag.body.version });
      expect(res.status).toBe(400);
      expect(res.body.error.details.length).toBeGreaterThan(0);
      expect(res.body.error.details[0].path).toMatch(/^environments\.[a-z-]+\.flags\.new-checkout\./);
    });
  });

  describe('segments', () => {
    it('creates, uses, refuses deleting while used, and deletes when unused', async () => {
      const created = await api.post(`${P}/segments`, { key: 'beta', included: ['u1'], rules: [{ id: 's1', clauses: [{ attribute: 'plan', operator: 'equals', values: ['enterprise'] }] }] });
      expect(created.status).toBe(201);
      await api.post(`${P}/flags`, { key: 'seg-user', kind: 'boolean' });
      const use = await api.put(`${P}/flags/seg-user/environments/development`, {
        on: true, offVariation: 'off', prerequisites: [], rules: [{ id: 'r1', clauses: [{ operator: 'inSegment', values: ['beta'] }], serve: { variation: 'on' } }], defaultServe: { variation: 'off' }, version: 1,
      });
      expect(use.status).toBe(200);
      const unknown = await api.put(`${P}/flags/seg-user/environments/staging`, {
        on: true, offVariation: 'off', prerequisites: [], rules: [{ id: 'r1', clauses: [{ operator: 'inSegment', values: ['gamma'] }], serve: { variation: 'on' } }], defaultServe: { variation: 'off' }, version: 1,
      });
      expect(unknown.status).toBe(400);
      const refused = await api.delete(`${P}/segments/beta`);
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toBe('segment "beta" is used by flag "seg-user" (development); remove those references first');
      const updated = await api.patch(`${P}/segments/beta`, { excluded: ['u2'], version: 1 });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ included: ['u1'], excluded: ['u2'], version: 2 });
      await api.put(`${P}/flags/seg-user/environments/development`, { on: true, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'off' }, version: 2 });
      expect((await api.delete(`${P}/segments/beta`)).status).toBe(204);
      expect((await api.get(`${P}/segments/beta`)).status).toBe(404);
    });
  });

  describe('SDK keys and admin tokens', () => {
    it('shows an SDK key once, stores only its hash, and revokes it at once', async () => {
      const res = await api.post(`${P}/environments/development/sdk-keys`, { kind: 'server', name: 'checkout-service' });
      expect(res.status).toBe(201);
      const key: string = res.body.key;
      expect(key).toMatch(/^fs_server_[A-Za-z0-9_-]{43}$/);
      expect(res.body.prefix).toBe(key.slice(0, 16));
      const rows = await h.db.query<{ key_hash: string }>('SELECT key_hash FROM sdk_keys WHERE id = $1', [res.body.id]);
      expect(rows[0].key_hash).toBe(createHash('sha256').update(key).digest('hex'));
      const dump = JSON.stringify(await h.db.query('SELECT * FROM sdk_keys')) + JSON.stringify(await h.db.query('SELECT * FROM audit_events'));
      expect(dump).not.toContain(key);
      const list = await api.get(`${P}/environments/development/sdk-keys`);
      expect(list.body.items).toEqual([expect.objectContaining({ id: res.body.id, prefix: res.body.prefix, kind: 'server', revokedAt: null })]);
      expect(JSON.stringify(list.body)).not.toContain(key);
      const hash = createHash('sha256').update(key).digest('hex');
      expect((await h.store.read.credentials.findActiveSdkKey(hash))?.environment.key).toBe('development');
      expect((await api.delete(`${P}/environments/development/sdk-keys/${res.body.id}`)).status).toBe(204);
      expect(await h.store.read.credentials.findActiveSdkKey(hash)).toBeNull();
    });

    it('issues admin tokens once, never lists them, and refuses revoked ones', async () => {
      const res = await api.post('/api/v1/tokens', { name: 'ci', role: 'viewer' });
      expect(res.status).toBe(201);
      const token: string = res.body.token;
      expect(token).toMatch(/^fs_admin_/);
      expect((await h.api(token).get('/api/v1/projects')).status).toBe(200);
      const list = await api.get('/api/v1/tokens');
      expect(JSON.stringify(list.body)).not.toContain(token);
      expect(list.body.items.find((t: { id: string }) => t.id === res.body.id)).toMatchObject({ name: 'ci', role: 'viewer', project: null });
      expect((await api.delete(`/api/v1/tokens/${res.body.id}`)).status).toBe(204);
      const refused = await h.api(token).get('/api/v1/projects');
      expect(refused.status).toBe(401);
      expect(refused.body.error.message).toBe('admin token is unknown or revoked');
    });
  });

  describe('audit', () => {
    it('pages newest first with a cursor and verifies the chain', async () => {
      const first = await api.get('/api/v1/audit?limit=3');
      expect(first.body.items).toHaveLength(3);
      const seqs = first.body.items.map((e: { seq: number }) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      const second = await api.get(`/api/v1/audit?limit=3&cursor=${first.body.nextCursor}`);
      expect(second.body.items[0].seq).toBe(seqs[2] - 1);
      const verify = await api.get('/api/v1/audit/verify');
      expect(verify.body).toMatchObject({ ok: true, lastSeq: seqs[0] });
    });

    it('reports the first broken link after tampering', async () => {
      await h.db.query('ALTER TABLE audit_events DISABLE TRIGGER USER');
      await h.db.query(`UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 2`);
      await h.db.query('ALTER TABLE audit_events ENABLE TRIGGER USER');
      const verify = await api.get('/api/v1/audit/verify');
      expect(verify.body).toEqual({ ok: false, checked: 1, brokenAt: 2, problem: 'record 2 was altered: its hash does not match its content' });
    });
  });

  describe('transport errors and documentation', () => {
    it('answers malformed JSON, oversized bodies and unknown routes with the error shape', async () => {
      const bad = await api.raw().post(`${P}/flags`).set('Authorization', `Bearer ${h.ownerToken}`).set('Content-Type', 'application/json').send('{"key":');
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^request body is not valid JSON/) });
      const big = await api.post(`${P}/flags`, { key: 'big', kind: 'boolean', description: 'x'.repeat(300_000) });
      expect(big.status).toBe(413);
      expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      const none = await api.get('/api/v1/nothing-here');
      expect(none.status).toBe(404);
      expect(none.body.error.requestId).toEqual(expect.any(String));
    });

    it('echoes a sane request id', async () => {
      const res = await api.get('/api/v1/projects').set('X-Request-Id', 'abc-123');
      expect(res.headers['x-request-id']).toBe('abc-123');
    });

    it('serves the OpenAPI document and metrics', async () => {
      const doc = await h.api().get('/docs/openapi.json');
      expect(doc.status).toBe(200);
      expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/projects/{project}/flags/{flag}/environments/{env}/toggle', '/api/v1/audit/verify']));
      const metrics = await h.api().get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('flagstream_http_request_duration_seconds_bucket');
    });
  });
});
