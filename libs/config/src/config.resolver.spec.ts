import fc from 'fast-check';
import type { ConfigLayerV1 } from '@flagstream/protocol';
import { applicableLayers, combineLayers, compileConfigItem, resolveConfig, tenantOf } from './config.resolver';

const def = (value: unknown): ConfigLayerV1 => ({ scope: 'default', value, version: 1 });
const env = (environment: string, value: unknown): ConfigLayerV1 => ({ scope: 'environment', environment, value, version: 2 });
const ten = (environment: string, tenant: string, value: unknown): ConfigLayerV1 => ({ scope: 'tenant', environment, tenant, value, version: 3 });
const rule = (environment: string, ruleId: string, order: number, attribute: string, values: unknown[], value: unknown): ConfigLayerV1 => ({
  scope: 'targeted',
  environment,
  ruleId,
  order,
  clauses: [{ attribute, operator: 'in', values }] as ConfigLayerV1['clauses'],
  value,
  version: 4,
});

const chain = ['prod', 'prod-eu'];

describe('resolution order (replace)', () => {
  const layers = [
    rule('prod-eu', 'beta', 1, 'plan', ['beta'], 'targeted-eu'),
    ten('prod-eu', 'acme', 'tenant-eu'),
    ten('prod', 'acme', 'tenant-prod'),
    env('prod-eu', 'eu'),
    env('prod', 'prod'),
    def('default'),
    env('staging', 'staging'),
    ten('staging', 'acme', 'tenant-staging'),
  ];
  const item = { merge: 'replace' as const, layers };

  it('the project default is the weakest, then the chain root first, then tenants, then targeted', () => {
    expect(resolveConfig(item, { chain: [] }).value).toBe('default');
    expect(resolveConfig(item, { chain: ['prod'] }).value).toBe('prod');
    expect(resolveConfig(item, { chain }).value).toBe('eu');
    expect(resolveConfig(item, { chain: ['prod'], tenant: 'acme' }).value).toBe('tenant-prod');
    expect(resolveConfig(item, { chain, tenant: 'acme' }).value).toBe('tenant-eu');
    expect(resolveConfig(item, { chain, tenant: 'globex' }).value).toBe('eu');
    expect(resolveConfig(item, { chain, tenant: 'acme', context: { plan: 'beta' } }).value).toBe('targeted-eu');
    expect(resolveConfig(item, { chain, tenant: 'acme', context: { plan: 'free' } }).value).toBe('tenant-eu');
  });

  it('a tenant override at the root beats an environment layer further down the chain', () => {
    const r = resolveConfig({ merge: 'replace', layers: [def(1), env('prod-eu', 2), ten('prod', 'acme', 3)] }, { chain, tenant: 'acme' });
    expect(r.value).toBe(3);
  });

  it('ignores layers of environments outside the chain', () => {
    expect(resolveConfig(item, { chain: ['staging-2'], tenant: 'acme' }).value).toBe('default');
  });

  it('explains: the source, and every weaker value it shadows, strongest first', () => {
    const r = resolveConfig(item, { chain, tenant: 'acme' });
    expect(r.source).toEqual(ten('prod-eu', 'acme', 'tenant-eu'));
    expect(r.applied).toEqual([r.source]);
    expect(r.shadowed.map((s) => [s.layer.scope, s.layer.environment ?? null, s.layer.value, s.path])).toEqual([
      ['tenant', 'prod', 'tenant-prod', ''],
      ['environment', 'prod-eu', 'eu', ''],
      ['environment', 'prod', 'prod', ''],
      ['default', null, 'default', ''],
    ]);
  });

  it('an item with no applicable layer has no value', () => {
    expect(resolveConfig({ merge: 'replace', layers: [env('prod', 1)] }, { chain: ['dev'] })).toEqual({ found: false, value: undefined, source: null, applied: [], shadowed: [] });
  });

  it('replace: the strongest applicable layer always wins whole (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 1, maxLength: 6 }), (values) => {
        const layers = values.map((v, i) => (i === 0 ? def(v) : env(`e${i}`, v)));
        const r = combineLayers('replace', applicableLayers(layers, { chain: values.map((_, i) => `e${i}`) }));
        expect(r.value).toEqual(values[values.length - 1]);
      }),
    );
  });
});

describe('targeted layers', () => {
  const layers = [
    def('d'),
    rule('prod', 'r2', 2, 'country', ['de'], 'prod-de'),
    rule('prod', 'r1', 1, 'plan', ['pro'], 'prod-pro'),
    rule('prod-eu', 'r3', 1, 'plan', ['pro'], 'eu-pro'),
  ];
  const compiled = compileConfigItem({ merge: 'replace', layers });

  it('per environment the first matching rule by order applies; the leaf environment is strongest', () => {
    expect(compiled.resolve({ chain: ['prod'], context: { plan: 'pro', country: 'de' } }).value).toBe('prod-pro');
    expect(compiled.resolve({ chain: ['prod'], context: { country: 'de' } }).value).toBe('prod-de');
    expect(compiled.resolve({ chain, context: { plan: 'pro', country: 'de' } }).value).toBe('eu-pro');
    expect(compiled.resolve({ chain, context: { plan: 'free' } }).value).toBe('d');
    expect(compiled.resolve({ chain }).value).toBe('d');
  });

  it('a rule over an unknown segment never applies', () => {
    const bad: ConfigLayerV1 = { scope: 'targeted', environment: 'prod', ruleId: 'x', order: 1, clauses: [{ attribute: '', operator: 'inSegment', values: ['ghost'] }] as ConfigLayerV1['clauses'], value: 'x', version: 1 };
    expect(resolveConfig({ merge: 'replace', layers: [def('d'), bad] }, { chain: ['prod'], context: { targetingKey: 'u' } }).value).toBe('d');
  });
});

describe('merge', () => {
  const layers = [
    def({ limits: { maxTransfer: 1000, daily: 5000 }, endpoints: ['a', 'b'], currency: 'EUR' }),
    env('prod', { limits: { maxTransfer: 2000 }, endpoints: ['c'] }),
    ten('prod-eu', 'acme', { limits: { daily: null, monthly: 90000 }, currency: 'CHF' }),
  ];
  const item = { merge: 'merge' as const, layers };

  it('merges objects key by key, replaces arrays and scalars, and null removes a key', () => {
    expect(resolveConfig(item, { chain }).value).toEqual({ limits: { maxTransfer: 2000, daily: 5000 }, endpoints: ['c'], currency: 'EUR' });
    expect(resolveConfig(item, { chain, tenant: 'acme' }).value).toEqual({ limits: { maxTransfer: 2000, monthly: 90000 }, endpoints: ['c'], currency: 'CHF' });
  });

  it('explains which paths each layer shadows', () => {
    const r = resolveConfig(item, { chain, tenant: 'acme' });
    expect(r.applied.map((l) => l.scope)).toEqual(['default', 'environment', 'tenant']);
    expect(r.source?.scope).toBe('tenant');
    expect(r.shadowed.map((s) => `${s.layer.scope}${s.path} by ${s.by.scope}`).sort()).toEqual([
      'default/currency by tenant',
      'default/endpoints by environment',
      'default/limits/daily by tenant',
      'default/limits/maxTransfer by environment',
    ]);
  });

  it('a stronger non-object value replaces the merged object, and shadows all of it', () => {
    const r = resolveConfig({ merge: 'merge', layers: [def({ a: 1 }), env('prod', { b: 2 }), ten('prod', 't', 'off')] }, { chain: ['prod'], tenant: 't' });
    expect(r.value).toBe('off');
    expect(r.shadowed.map((s) => `${s.layer.scope}${s.path}`).sort()).toEqual(['default/a', 'environment/b']);
  });

  it('an object over a scalar starts afresh and shadows the scalar', () => {
    const r = resolveConfig({ merge: 'merge', layers: [def('plain'), env('prod', { a: 1 })] }, { chain: ['prod'] });
    expect(r.value).toEqual({ a: 1 });
    expect(r.shadowed).toEqual([{ layer: def('plain'), path: '', by: env('prod', { a: 1 }) }]);
  });
});

describe('tenantOf', () => {
  it('reads the tenant attribute when it is a non-empty string or a finite number', () => {
    expect(tenantOf({ tenantId: 'acme' }, 'tenantId')).toBe('acme');
    expect(tenantOf({ org: 42 }, 'org')).toBe('42');
    expect(tenantOf({ tenantId: '' }, 'tenantId')).toBeNull();
    expect(tenantOf({ tenantId: { x: 1 } }, 'tenantId')).toBeNull();
    expect(tenantOf(undefined, 'tenantId')).toBeNull();
  });
});
