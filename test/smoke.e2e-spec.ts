import { startAdmin, type AdminHarness } from './support/admin-harness';

describe('admin app boots', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    h = await startAdmin();
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers health and refuses the API without a token', async () => {
    const ready = await h.api().get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
    const res = await h.api().get('/api/v1/projects');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
    const ok = await h.api(h.ownerToken).get('/api/v1/projects');
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ items: [], nextCursor: null });
  });
});
