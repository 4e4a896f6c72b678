import { ValidationError } from '@flagstream/errors';
import { applyReason, checkRunAt, columnsOf, MAX_SCHEDULE_AHEAD_MS, specOf, type ScheduledChangeSpec } from './scheduled-changes';
import { bullPrefix, scheduledChangeJobId } from './scheduled-change.queue';

describe('checkRunAt', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');

  it('accepts a time after now and at most a year ahead', () => {
    expect(() => checkRunAt(new Date(now.getTime() + 1), now)).not.toThrow();
    expect(() => checkRunAt(new Date(now.getTime() + MAX_SCHEDULE_AHEAD_MS), now)).not.toThrow();
  });

  it('refuses now, the past, more than a year ahead and invalid dates, pointing at runAt', () => {
    const problem = (runAt: Date) => {
      try {
        checkRunAt(runAt, now);
      } catch (e) {
        return [(e as ValidationError).message, (e as ValidationError).details[0]?.path];
      }
      return null;
    };
    expect(problem(now)).toEqual(['runAt must be in the future', 'runAt']);
    expect(problem(new Date(now.getTime() - 60_000))).toEqual(['runAt must be in the future', 'runAt']);
    expect(problem(new Date(now.getTime() + MAX_SCHEDULE_AHEAD_MS + 1))).toEqual(['runAt must be at most a year ahead', 'runAt']);
    expect(problem(new Date('nonsense'))).toEqual(['runAt is not a valid time', 'runAt']);
  });
});

describe('stored form of a change', () => {
  const specs: ScheduledChangeSpec[] = [
    { type: 'flag.settings', flag: 'checkout', settings: { on: true, offVariation: 'off', prerequisites: [], rules: [], defaultServe: { variation: 'on' }, version: 3 } },
    { type: 'flag.toggle', flag: 'checkout', on: false },
    { type: 'config.set', config: 'payments.limit', value: { max: 5 } },
    { type: 'config.set', config: 'payments.limit', tenant: 'acme', value: null },
    { type: 'config.remove', config: 'payments.limit' },
    { type: 'config.remove', config: 'payments.limit', tenant: 'acme' },
  ];

  it.each(specs)('round-trips %j through its columns', (spec) => {
    expect(specOf(columnsOf(spec))).toEqual(spec);
  });

  it('keys conflicts by target: the flag, or the config item and tenant', () => {
    expect(columnsOf(specs[0])).toMatchObject({ targetType: 'flag', targetKey: 'checkout', tenant: null });
    expect(columnsOf(specs[3])).toMatchObject({ targetType: 'config', targetKey: 'payments.limit', tenant: 'acme' });
  });
});

describe('names', () => {
  it('builds deterministic BullMQ job ids without ":"', () => {
    expect(scheduledChangeJobId('0b8e2c4e-0f4f-4d5e-9a49-3b1f1c2d3e4f', 2)).toBe('sched-0b8e2c4e-0f4f-4d5e-9a49-3b1f1c2d3e4f-v2');
  });

  it('derives the BullMQ prefix from the Redis key prefix', () => {
    expect(bullPrefix('flagstream:')).toBe('flagstream');
    expect(bullPrefix('flagstream-test:abc:')).toBe('flagstream-test:abc');
    expect(bullPrefix('custom')).toBe('custom');
  });

  it('names the schedule and its creator in the audit reason of the applied change', () => {
    const createdBy = { type: 'token' as const, id: 't1', name: 'release-bot' };
    expect(applyReason({ id: 's1', createdBy, reason: 'launch day' })).toBe('scheduled change s1 (release-bot): launch day');
    expect(applyReason({ id: 's1', createdBy, reason: null })).toBe('scheduled change s1 (release-bot)');
  });
});
