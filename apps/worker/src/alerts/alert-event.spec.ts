import { alertEventProblems, type AlertEvent } from './alert-event';

const EVENT: AlertEvent = {
  id: 'guardrail-4f1c2d-v3',
  type: 'release_plan.guardrail_breached',
  occurredAt: '2030-01-02T03:04:05.678Z',
  project: 'shop',
  environment: 'prod',
  summary: 'Release plan "checkout-v2" was rolled back: error rate 4.1% > 2%.',
  data: { releasePlan: '4f1c2d', flag: 'checkout-v2' },
};

describe('alertEventProblems', () => {
  it('accepts a well-formed event, with or without an environment', () => {
    expect(alertEventProblems(EVENT)).toEqual([]);
    expect(alertEventProblems({ ...EVENT, environment: null, occurredAt: '2030-01-02T03:04:05+02:00' })).toEqual([]);
  });

  it.each([
    ['a ":" (BullMQ refuses it)', 'plan:1'],
    ['an integer (BullMQ refuses it)', '42'],
    ['a space', 'plan 1'],
    ['nothing', ''],
    ['201 characters', 'a'.repeat(201)],
  ])('refuses an id with %s', (_case, id) => {
    expect(alertEventProblems({ ...EVENT, id })).toEqual([`id: must be 1-200 letters, digits, ".", "_" or "-" and not an integer (got ${JSON.stringify(id)})`]);
  });

  it('names every bad field', () => {
    const bad = { ...EVENT, type: 'Rollback', occurredAt: '2030-01-02', project: '', environment: '', summary: ' ', data: [] } as unknown as AlertEvent;
    expect(alertEventProblems(bad).map((p) => p.split(':')[0])).toEqual(['type', 'occurredAt', 'project', 'environment', 'summary', 'data']);
  });
});
