import type { ConfigLayerV1, ValidationProblem } from '@flagstream/protocol';
import { findBrokenValues } from './blast-radius';

/**
 * A hand-written check standing in for the schema {max: integer <= 100, currency: EUR|USD},
 * both required, nothing else (the admin API uses ajv; this lib only takes a check function).
 */
const environments = [
  { key: 'prod', parent: null },
  { key: 'prod-eu', parent: 'prod' },
  { key: 'staging', parent: null },
];

const schema = {
  check(value: unknown): ValidationProblem[] {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return [{ path: '', message: 'must be object' }];
    const v = value as Record<string, unknown>;
    const problems: ValidationProblem[] = [];
    for (const k of Object.keys(v)) if (k !== 'max' && k !== 'currency') problems.push({ path: k, message: 'is not allowed by the schema' });
    if (!('max' in v)) problems.push({ path: 'max', message: "must have required property 'max'" });
    else if (typeof v.max !== 'number' || v.max > 100) problems.push({ path: 'max', message: 'must be <= 100' });
    if (!('currency' in v)) problems.push({ path: 'currency', message: "must have required property 'currency'" });
    else if (v.currency !== 'EUR' && v.currency !== 'USD') problems.push({ path: 'currency', message: 'must be equal to one of the allowed values' });
    return problems;
  },
};

describe('findBrokenValues', () => {
  const layers: ConfigLayerV1[] = [
    { scope: 'default', value: { max: 10, currency: 'EUR' }, version: 1 },
    { scope: 'environment', environment: 'prod', value: { max: 50 }, version: 2 },
    { scope: 'tenant', environment: 'prod-eu', tenant: 'acme', value: { currency: 'USD' }, version: 3 },
  ];

  it('re-resolves every (environment, tenant) pair and finds nothing wrong in a sound item', () => {
    const r = findBrokenValues({ merge: 'merge', layers, environments, check: (v) => schema.check(v) });
    // prod: (none), prod-eu: (none, acme), staging: (none)
    expect(r).toEqual({ checked: 4, broken: [] });
  });

  it('reports each broken pair, with its path and message, when a default change breaks a merged tenant value', () => {
    const proposed = layers.map((l) => (l.scope === 'default' ? { ...l, value: { max: 10, currency: 'EUR', extra: true } } : l));
    const after = proposed.map((l) => (l.scope === 'tenant' ? { ...l, value: { currency: 'GBP' } } : l));
    const r = findBrokenValues({ merge: 'merge', layers: after, environments, check: (v) => schema.check(v) });
    expect(r.broken).toEqual([
      { environment: 'prod', tenant: null, path: 'extra', message: 'is not allowed by the schema' },
      { environment: 'prod-eu', tenant: null, path: 'extra', message: 'is not allowed by the schema' },
      { environment: 'prod-eu', tenant: 'acme', path: 'extra', message: 'is not allowed by the schema' },
      { environment: 'prod-eu', tenant: 'acme', path: 'currency', message: 'must be equal to one of the allowed values' },
      { environment: 'staging', tenant: null, path: 'extra', message: 'is not allowed by the schema' },
    ]);
  });

  it('only re-resolves environments under the touched one', () => {
    const broken = layers.map((l) => (l.scope === 'environment' ? { ...l, value: { max: 500 } } : l));
    const r = findBrokenValues({ merge: 'merge', layers: broken, environments, touched: ['prod'], check: (v) => schema.check(v) });
    expect(r.checked).toBe(3);
    expect(r.broken.map((b) => [b.environment, b.tenant, b.path])).toEqual([
      ['prod', null, 'max'],
      ['prod-eu', null, 'max'],
      ['prod-eu', 'acme', 'max'],
    ]);
  });

  it('checks targeted layers in every combination they can apply in, naming the rules', () => {
    const targeted: ConfigLayerV1[] = [
      ...layers,
      { scope: 'targeted', environment: 'prod', ruleId: 'big', order: 1, clauses: [], value: { max: 90 }, version: 4 },
      { scope: 'targeted', environment: 'prod-eu', ruleId: 'plus', order: 1, clauses: [], value: { currency: 'JPY' }, version: 5 },
    ];
    const r = findBrokenValues({ merge: 'merge', layers: targeted, environments, touched: ['prod-eu'], check: (v) => schema.check(v) });
    expect(r.broken).toEqual([
      { environment: 'prod-eu', tenant: null, rules: ['plus'], path: 'currency', message: 'must be equal to one of the allowed values' },
      { environment: 'prod-eu', tenant: null, rules: ['big', 'plus'], path: 'currency', message: 'must be equal to one of the allowed values' },
      { environment: 'prod-eu', tenant: 'acme', rules: ['plus'], path: 'currency', message: 'must be equal to one of the allowed values' },
      { environment: 'prod-eu', tenant: 'acme', rules: ['big', 'plus'], path: 'currency', message: 'must be equal to one of the allowed values' },
    ]);
  });

  it('gives up, saying where, when targeted layers combine in too many ways', () => {
    const many: ConfigLayerV1[] = [
      ...layers,
      ...Array.from({ length: 20 }, (_, i): ConfigLayerV1 => ({ scope: 'targeted', environment: 'prod', ruleId: `p${i}`, order: i, clauses: [], value: { max: 1 }, version: 1 })),
      ...Array.from({ length: 20 }, (_, i): ConfigLayerV1 => ({ scope: 'targeted', environment: 'prod-eu', ruleId: `e${i}`, order: i, clauses: [], value: { max: 1 }, version: 1 })),
    ];
    const r = findBrokenValues({ merge: 'merge', layers: many, environments, check: (v) => schema.check(v) });
    expect(r.tooManyCombinations).toEqual({ environment: 'prod-eu', combinations: 441 });
  });
});
