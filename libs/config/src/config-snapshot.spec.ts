import type { ConfigItemSnapshotV1 } from '@flagstream/protocol';
import { compileConfigSnapshot, configSnapshotFor } from './config-snapshot';

describe('configSnapshotFor', () => {
  it('keeps the default and the layers of the chain only, in a stable order', () => {
    const snap = configSnapshotFor(
      { key: 'k', version: 7, merge: 'replace', clientVisible: true },
      [
        { scope: 'tenant', environment: 'prod-eu', tenant: 'b', value: 4, version: 4 },
        { scope: 'environment', environment: 'staging', value: 9, version: 5 },
        { scope: 'tenant', environment: 'prod', tenant: 'a', value: 3, version: 3 },
        { scope: 'environment', environment: 'prod', value: 2, version: 2 },
        { scope: 'default', value: 1, version: 1 },
      ],
      ['prod', 'prod-eu'],
      'org',
    );
    expect(snap).toEqual({
      key: 'k',
      version: 7,
      merge: 'replace',
      clientVisible: true,
      tenantAttribute: 'org',
      chain: ['prod', 'prod-eu'],
      layers: [
        { scope: 'default', value: 1, version: 1 },
        { scope: 'environment', environment: 'prod', value: 2, version: 2 },
        { scope: 'tenant', environment: 'prod', tenant: 'a', value: 3, version: 3 },
        { scope: 'tenant', environment: 'prod-eu', tenant: 'b', value: 4, version: 4 },
      ],
    });
  });
});

describe('compileConfigSnapshot', () => {
  const item: ConfigItemSnapshotV1 = {
    key: 'limits',
    version: 3,
    merge: 'merge',
    clientVisible: false,
    tenantAttribute: 'tenantId',
    chain: ['staging'],
    layers: [
      { scope: 'default', value: { max: 1, currency: 'EUR' }, version: 1 },
      { scope: 'environment', environment: 'staging', value: { max: 2 }, version: 2 },
      { scope: 'tenant', environment: 'staging', tenant: 'acme', value: { currency: 'CHF' }, version: 3 },
      { scope: 'targeted', environment: 'staging', ruleId: 'vip', order: 0, clauses: [{ attribute: 'tier', operator: 'in', values: ['vip'] }], value: { max: 9 }, version: 3 },
    ],
  };
  const c = compileConfigSnapshot(item);

  it('takes the tenant from the context attribute the item names and reports reason and source', () => {
    expect(c.evaluate({})).toEqual({ key: 'limits', found: true, value: { max: 2, currency: 'EUR' }, reason: 'STATIC', source: { scope: 'environment', environment: 'staging' }, version: 3 });
    expect(c.evaluate({ tenantId: 'acme' })).toMatchObject({ value: { max: 2, currency: 'CHF' }, reason: 'TARGETING_MATCH', source: { scope: 'tenant', tenant: 'acme' } });
    expect(c.evaluate({ tenantId: 'acme', tier: 'vip' })).toMatchObject({ value: { max: 9, currency: 'CHF' }, source: { scope: 'targeted', ruleId: 'vip' } });
    expect(c.evaluate({ tenantId: 'globex' }).value).toEqual({ max: 2, currency: 'EUR' });
  });

  it('reports DEFAULT when only the project default applies', () => {
    const onlyDefault = compileConfigSnapshot({ ...item, chain: ['dev'] });
    expect(onlyDefault.evaluate({ tenantId: 'acme' })).toMatchObject({ value: { max: 1, currency: 'EUR' }, reason: 'DEFAULT', source: { scope: 'default' } });
  });
});
