import { createProject, startAdmin, type AdminHarness } from './support/admin-harness';

describe('probe', () => {
  let h: AdminHarness;
  beforeAll(async () => { h = await startAdmin(); await createProject(h, 'pa'); });
  afterAll(async () => { await h.close(); });
  it('probes', async () => {
    const api = h.api(h.ownerToken);
    const doc = await h.api().get('/docs/openapi.json');
    for (const [p, ops] of Object.entries(doc.body.paths)) console.log(Object.keys(ops as object).join(','), p);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const show = (label: string, r: { status: number; body: unknown }) => console.log(label, r.status, JSON.stringify(r.body).slice(0, 300));
    show('tokens cursor str', await api.get(`/api/v1/tokens?cursor=${b64('zzz')}`));
    show('sdk cursor str', await api.get(`/api/v1/projects/pa/environments/staging/sdk-keys?cursor=${b64('zzz')}`));
    show('audit cursor float', await api.get(`/api/v1/audit?cursor=${b64(1.5)}`));
    show('audit cursor huge', await api.get(`/api/v1/audit?cursor=${b64(1e300)}`));
    show('audit cursor neg', await api.get(`/api/v1/audit?cursor=${b64(-1)}`));
    show('audit targetKey nul', await api.get(`/api/v1/audit?targetKey=a%00b`));
    show('audit since', await api.get(`/api/v1/audit?since=notadate`));
    show('audit since 2', await api.get(`/api/v1/audit?since=2024-13-45`));
    show('audit since 3', await api.get(`/api/v1/audit?since=99999-01-01`));
    show('proj nul name', await api.post(`/api/v1/projects`, { key: 'nul1', name: 'a\u0000b' }));
    show('limit 1.5', await api.get(`/api/v1/projects?limit=1.5`));
    show('limit dup', await api.get(`/api/v1/projects?limit=1&limit=2`));
    show('path %00', await api.get(`/api/v1/projects/%00`));
    show('path bad uri', await api.get(`/api/v1/projects/%E0%A4%A`));
    show('path ..', await api.get(`/api/v1/projects/../environments`));
    show('array body', await api.post(`/api/v1/projects`, [1, 2]));
    show('proto', await api.raw().post(`/api/v1/projects`).set('Authorization', `Bearer ${h.ownerToken}`).set('Content-Type', 'application/json').send('{"key":"x1","name":"x","__proto__":{"a":1}}'));
    show('ifmatch star', await api.patch(`/api/v1/projects/pa`, { name: 'x' }).set('If-Match', '*'));
    show('text plain', await api.raw().post(`/api/v1/projects`).set('Authorization', `Bearer ${h.ownerToken}`).set('Content-Type', 'text/plain').send('hello'));
    show('flag create str no var', await api.post(`/api/v1/projects/pa/flags`, { key: 'sf', kind: 'string' }));
    show('seg nul', await api.post(`/api/v1/projects/pa/segments`, { key: 'sn', included: ['a\u0000'] }));
    show('token nul', await api.post(`/api/v1/tokens`, { name: 'a\u0000', role: 'viewer' }));
  });
});
