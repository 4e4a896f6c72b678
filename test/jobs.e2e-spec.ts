import { ALERTS_QUEUE, EXPERIMENTS_QUEUE, GUARDRAILS_QUEUE, RELEASE_PLANS_QUEUE, SCHEDULED_CHANGES_QUEUE, SECRET_MAINTENANCE_QUEUE } from '@flagstream/changes';
import type { JobQueues } from '../apps/admin/src/jobs/job-queues';
import { createProject, createToken, failJob, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';

const JOBS = '/api/v1/jobs';
const FAILED = `${JOBS}/failed`;

interface JobView {
  queue: string;
  id: string;
  name: string;
  state: string;
  data: Record<string, unknown>;
  failedReason: string | null;
  attemptsMade: number;
  maxAttempts: number;
  createdAt: string;
  finishedAt: string | null;
}

interface QueueCounts {
  queue: string;
  waiting: number;
  delayed: number;
  active: number;
  failed: number;
  completed: number;
}

interface AuditEvent {
  action: string;
  target: { type: string; key: string };
  project: string | null;
  actor: { type: string; name: string };
  reason: string | null;
  before: JobView | null;
  after: JobView | null;
}

describe('failed jobs through the admin API', () => {
  let h: AdminHarness;
  let queues: JobQueues;
  let owner: ApiClient;
  let viewer: ApiClient;
  let editor: ApiClient;
  /** An owner token limited to a project: instance-wide routes are not for it. */
  let projectOwner: ApiClient;
  let serial = 0;
  const unique = (name: string) => `${name}-${++serial}`;

  async function failedIds(queue: string): Promise<string[]> {
    const res = await owner.get(`${FAILED}?queue=${queue}&limit=200`);
    expect(res.status).toBe(200);
    return (res.body.items as JobView[]).map((j) => j.id);
  }

  async function auditOf(action: string, id: string): Promise<AuditEvent[]> {
    const res = await owner.get(`/api/v1/audit?action=${action}&targetType=job&targetKey=${encodeURIComponent(`${ALERTS_QUEUE}/${id}`)}`);
    expect(res.status).toBe(200);
    return res.body.items as AuditEvent[];
  }

  beforeAll(async () => {
    h = await startAdmin();
    queues = h.jobQueues!;
    owner = h.api(h.ownerToken);
    viewer = h.api(await createToken(h, 'viewer'));
    editor = h.api(await createToken(h, 'editor'));
    await createProject(h, 'shop');
    projectOwner = h.api(await createToken(h, 'owner', 'shop'));
  });

  afterAll(async () => {
    await h?.close();
  });

  it('lists a job that failed for good with its reason, attempts and times; sensitive data is redacted', async () => {
    const id = unique('alert');
    const startedAt = Date.now();
    await failJob(h, ALERTS_QUEUE, id, { name: 'deliver', data: { alertId: 'a-1', planId: 'p-1', token: 'must-not-show' }, reason: 'webhook answered 410 Gone', attempts: 5 });

    const res = await viewer.get(`${FAILED}?queue=${ALERTS_QUEUE}`);
    expect(res.status).toBe(200);
    const job = (res.body.items as JobView[]).find((j) => j.id === id);
    expect(job).toEqual({
      queue: ALERTS_QUEUE,
      id,
      name: 'deliver',
      state: 'failed',
      data: { alertId: 'a-1', planId: 'p-1', token: '[REDACTED]' },
      failedReason: 'webhook answered 410 Gone',
      attemptsMade: 1,
      maxAttempts: 5,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      finishedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(Date.parse(job!.createdAt)).toBeGreaterThanOrEqual(startedAt - 1000);
    expect(Date.parse(job!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(job!.createdAt));
    expect(res.body.total).toBe((res.body.items as JobView[]).length);
    expect(res.body.nextStart).toBeNull();
  });

  it('pages failed jobs newest failure first with limit and start', async () => {
    const ids = [unique('guard'), unique('guard'), unique('guard')];
    for (const id of ids) await failJob(h, GUARDRAILS_QUEUE, id);

    const first = await owner.get(`${FAILED}?queue=${GUARDRAILS_QUEUE}&limit=2`);
    expect(first.status).toBe(200);
    expect({ ids: (first.body.items as JobView[]).map((j) => j.id), total: first.body.total, nextStart: first.body.nextStart }).toEqual({
      ids: [ids[2], ids[1]],
      total: 3,
      nextStart: 2,
    });
    const second = await owner.get(`${FAILED}?queue=${GUARDRAILS_QUEUE}&limit=2&start=2`);
    expect({ ids: (second.body.items as JobView[]).map((j) => j.id), total: second.body.total, nextStart: second.body.nextStart }).toEqual({
      ids: [ids[0]],
      total: 3,
      nextStart: null,
    });
  });

  it('counts the jobs of every queue by state', async () => {
    await queues[SCHEDULED_CHANGES_QUEUE].add('apply', { id: 'later', version: 1 }, { jobId: unique('sched'), delay: 3_600_000 });
    await queues[RELEASE_PLANS_QUEUE].add('advance', { id: 'now', version: 1, milestone: 1 }, { jobId: unique('plan') });
    await queues[RELEASE_PLANS_QUEUE].add('advance', { id: 'now', version: 1, milestone: 2 }, { jobId: unique('plan') });

    const res = await viewer.get(JOBS);
    expect(res.status).toBe(200);
    const byQueue = Object.fromEntries((res.body.items as QueueCounts[]).map(({ queue, ...counts }) => [queue, counts]));
    expect(Object.keys(byQueue)).toEqual([SCHEDULED_CHANGES_QUEUE, RELEASE_PLANS_QUEUE, GUARDRAILS_QUEUE, ALERTS_QUEUE, SECRET_MAINTENANCE_QUEUE, EXPERIMENTS_QUEUE]);
    expect(byQueue[SCHEDULED_CHANGES_QUEUE]).toEqual({ waiting: 0, delayed: 1, active: 0, failed: 0, completed: 0 });
    expect(byQueue[RELEASE_PLANS_QUEUE]).toEqual({ waiting: 2, delayed: 0, active: 0, failed: 0, completed: 0 });
    expect(byQueue[ALERTS_QUEUE]).toMatchObject({ active: 0, failed: await queues[ALERTS_QUEUE].getFailedCount() });
    expect(byQueue[ALERTS_QUEUE].failed).toBeGreaterThan(0);
  });

  it('refuses retries and removals to viewers, editors and project-scoped tokens, and leaves the job failed', async () => {
    const id = unique('alert');
    await failJob(h, ALERTS_QUEUE, id);
    for (const [who, api] of [['viewer', viewer], ['editor', editor], ['project owner', projectOwner]] as const) {
      const retry = await api.post(`${FAILED}/${ALERTS_QUEUE}/${id}/retry`);
      const remove = await api.delete(`${FAILED}/${ALERTS_QUEUE}/${id}`);
      expect({ who, retry: retry.status, remove: remove.status, code: retry.body.error?.code }).toEqual({ who, retry: 403, remove: 403, code: 'FORBIDDEN' });
    }
    // Looking is instance-wide too: a project-scoped token does not see the worker's queues.
    expect((await projectOwner.get(`${FAILED}?queue=${ALERTS_QUEUE}`)).status).toBe(403);
    expect((await projectOwner.get(JOBS)).status).toBe(403);
    expect(await queues[ALERTS_QUEUE].getJobState(id)).toBe('failed');
    expect(await auditOf('job.retried', id)).toEqual([]);
    expect(await auditOf('job.removed', id)).toEqual([]);
  });

  it('retries a failed job: back to waiting with its attempts reset, audited, and it runs again', async () => {
    const id = unique('alert');
    await failJob(h, ALERTS_QUEUE, id, { name: 'deliver', data: { alertId: 'a-2' }, reason: 'first run failed', attempts: 4 });

    const res = await owner.post(`${FAILED}/${ALERTS_QUEUE}/${id}/retry`).set('X-Flagstream-Reason', 'webhook fixed');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ queue: ALERTS_QUEUE, id, name: 'deliver', state: 'waiting', data: { alertId: 'a-2' }, failedReason: null, attemptsMade: 0, maxAttempts: 4, finishedAt: null });
    expect(await queues[ALERTS_QUEUE].getJobState(id)).toBe('waiting');
    expect((await queues[ALERTS_QUEUE].getJob(id))?.attemptsMade).toBe(0);
    expect(await failedIds(ALERTS_QUEUE)).not.toContain(id);

    const [event, ...more] = await auditOf('job.retried', id);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      action: 'job.retried',
      target: { type: 'job', key: `${ALERTS_QUEUE}/${id}` },
      project: null,
      actor: { type: 'token' },
      reason: 'webhook fixed',
      before: { state: 'failed', failedReason: 'first run failed', attemptsMade: 1 },
      after: { state: 'waiting', failedReason: null, attemptsMade: 0 },
    });

    // A second retry finds it waiting, not failed.
    const again = await owner.post(`${FAILED}/${ALERTS_QUEUE}/${id}/retry`);
    expect(again.status).toBe(404);
    expect(again.body.error.message).toBe(`job "${id}" of queue ${ALERTS_QUEUE} is waiting, not failed`);

    // It runs again (a worker takes it and it fails once more): one attempt made, not two.
    await failJob(h, ALERTS_QUEUE, unique('alert'), { reason: 'second run failed' });
    const job = await queues[ALERTS_QUEUE].getJob(id);
    expect({ state: await job?.getState(), attemptsMade: job?.attemptsMade }).toEqual({ state: 'failed', attemptsMade: 1 });
  });

  it('removes a failed job, audited; removing it again is a 404', async () => {
    const id = unique('alert');
    await failJob(h, ALERTS_QUEUE, id, { data: { alertId: 'a-3' } });

    const res = await owner.delete(`${FAILED}/${ALERTS_QUEUE}/${id}`);
    expect(res.status).toBe(204);
    expect(await queues[ALERTS_QUEUE].getJob(id)).toBeUndefined();
    expect(await failedIds(ALERTS_QUEUE)).not.toContain(id);
    const events = await auditOf('job.removed', id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ project: null, before: { id, state: 'failed', data: { alertId: 'a-3' } }, after: null });

    const again = await owner.delete(`${FAILED}/${ALERTS_QUEUE}/${id}`);
    expect(again.status).toBe(404);
    expect(again.body.error).toMatchObject({ code: 'NOT_FOUND', message: `queue ${ALERTS_QUEUE} has no job "${id}"` });
  });

  it('answers 404 for a job id the queue does not have', async () => {
    for (const res of [await owner.post(`${FAILED}/${ALERTS_QUEUE}/no-such-job/retry`), await owner.delete(`${FAILED}/${ALERTS_QUEUE}/no-such-job`)]) {
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'NOT_FOUND', message: `queue ${ALERTS_QUEUE} has no job "no-such-job"` });
    }
  });

  it('answers 400 for an unknown or missing queue and for a limit out of range', async () => {
    const unknown = await viewer.get(`${FAILED}?queue=emails`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ path: 'queue', message: 'queue must be one of scheduled-changes, release-plans, guardrails, alerts, secret-maintenance, experiments' }]);
    expect((await viewer.get(FAILED)).body.error.details).toEqual([{ path: 'queue', message: 'queue must be one of scheduled-changes, release-plans, guardrails, alerts, secret-maintenance, experiments' }]);
    for (const query of ['limit=0', 'limit=201', 'start=-1', 'start=first']) {
      const res = await viewer.get(`${FAILED}?queue=${ALERTS_QUEUE}&${query}`);
      expect({ query, status: res.status, path: res.body.error?.details?.[0]?.path }).toEqual({ query, status: 400, path: query.split('=')[0] });
    }
    const retry = await owner.post(`${FAILED}/emails/x/retry`);
    expect(retry.status).toBe(400);
    expect(retry.body.error).toMatchObject({ message: '"emails" is not a job queue', details: [{ path: 'queue', message: 'must be one of scheduled-changes, release-plans, guardrails, alerts, secret-maintenance, experiments' }] });
    expect((await owner.delete(`${FAILED}/emails/x`)).status).toBe(400);
    expect((await owner.post(`${FAILED}/${ALERTS_QUEUE}/${'x'.repeat(201)}/retry`)).status).toBe(400);
  });

  it('documents the routes in OpenAPI with the queue names', async () => {
    const doc = await h.api().get('/docs/openapi.json');
    const paths = doc.body.paths as Record<string, Record<string, { parameters?: Array<{ name: string; schema?: { enum?: string[] } }>; responses: Record<string, unknown> }>>;
    const queueParam = paths['/api/v1/jobs/failed'].get.parameters?.find((p) => p.name === 'queue');
    expect(queueParam?.schema?.enum).toEqual([SCHEDULED_CHANGES_QUEUE, RELEASE_PLANS_QUEUE, GUARDRAILS_QUEUE, ALERTS_QUEUE, SECRET_MAINTENANCE_QUEUE, EXPERIMENTS_QUEUE]);
    expect(Object.keys(paths['/api/v1/jobs/failed/{queue}/{id}/retry'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '403', '404', '503']));
    expect(Object.keys(paths['/api/v1/jobs/failed/{queue}/{id}'].delete.responses)).toEqual(expect.arrayContaining(['204', '404']));
    expect(Object.keys(paths['/api/v1/jobs'].get.responses)).toEqual(expect.arrayContaining(['200', '503']));
  });
});

describe('failed jobs on an admin started without the job queues', () => {
  let h: AdminHarness;

  beforeAll(async () => {
    h = await startAdmin({ jobQueues: false });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('answers 503 with a message instead of failing with a 500', async () => {
    const owner = h.api(h.ownerToken);
    for (const res of [
      await owner.get(JOBS),
      await owner.get(`${FAILED}?queue=${ALERTS_QUEUE}`),
      await owner.post(`${FAILED}/${ALERTS_QUEUE}/some-job/retry`),
      await owner.delete(`${FAILED}/${ALERTS_QUEUE}/some-job`),
    ]) {
      expect(res.status).toBe(503);
      expect(res.body.error.message).toBe('this admin API was started without the job queues: failed jobs cannot be listed, retried or removed here');
    }
    // Authorization and validation still come first.
    const viewer = h.api(await createToken(h, 'viewer'));
    expect((await viewer.post(`${FAILED}/${ALERTS_QUEUE}/some-job/retry`)).status).toBe(403);
    expect((await owner.get(`${FAILED}?queue=emails`)).status).toBe(400);
    const [row] = await h.db.query<{ n: string }>("SELECT count(*) AS n FROM audit_events WHERE action LIKE 'job.%'");
    expect(Number(row.n)).toBe(0);
  });
});
