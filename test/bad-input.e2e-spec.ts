import fc from 'fast-check';
import type { Response } from 'supertest';
import { CLAUSE_OPERATORS, FLAG_KINDS, KEY_PATTERN } from '@flagstream/protocol';
import { createProject, createToken, eventually, startAdmin, type AdminHarness } from './support/admin-harness';

// Each property sends a few hundred requests.
jest.setTimeout(60_000);

/**
 * Thousands of requests the owner sends that are certainly wrong: each is a valid request with at
 * least one guaranteed-invalid element put in. Every answer must be a 4xx with the one error body
 * shape (never a 2xx, never a 5xx), with the status and code of that kind of mistake, and
 * afterwards every table must hold exactly what it held before.
 *
 * Where the pipeline allows it, a mutated body also carries a "safety" defect that is only noticed
 * after validation (an existing key on creates, a stale If-Match on updates): a validation hole then
 * shows up as a wrong status (409) instead of a write that would spoil the other properties.
 */

/** Fixed, so a failure reproduces; fast-check prints seed and path of a counterexample. */
const SEED = 20_251_126;
const API = '/api/v1';
const P = 'shop';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
interface BadRequest {
  method: Method;
  path: string;
  /** A JSON body (sent with JSON.stringify). */
  body?: unknown;
  /** Raw body text, sent as application/json. */
  raw?: string;
  headers?: Record<string, string>;
}
interface Expectation {
  status: number;
  /** The error code, or the codes one of which it must be. */
  code: string | string[];
  /** For validation failures: a detail path that must be reported (exactly, or as a prefix). */
  path?: string;
}

const TABLES = ['projects', 'environments', 'flags', 'flag_environments', 'segments', 'sdk_keys', 'audit_events', 'outbox'];

/** JSON as it travels: what the server sees (undefined dropped, NaN -> null, -0 -> 0). */
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const isKey = (v: unknown) => typeof v === 'string' && KEY_PATTERN.test(v);
const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What a field may be, as loosely as the DTO could accept it: generated values lie outside. */
type Accepts = (v: unknown) => boolean;
const optional = (a: Accepts): Accepts => (v) => v === null || a(v);
const A = {
  string: ((v) => typeof v === 'string') as Accepts,
  nonEmpty: ((v) => typeof v === 'string' && v.length > 0) as Accepts,
  key: isKey as Accepts,
  bool: ((v) => typeof v === 'boolean') as Accepts,
  /** Any number: only non-numbers count as certainly wrong here (bad numbers have their own cases). */
  number: ((v) => typeof v === 'number') as Accepts,
  array: ((v) => Array.isArray(v)) as Accepts,
  object: isObject,
  oneOf: (...values: string[]): Accepts => (v) => typeof v === 'string' && values.includes(v),
  keys: ((v) => Array.isArray(v) && v.every(isKey)) as Accepts,
  strings: ((v) => Array.isArray(v) && v.every((x) => typeof x === 'string')) as Accepts,
  objects: ((v) => Array.isArray(v) && v.every(isObject)) as Accepts,
};

interface Field {
  accepts: Accepts;
  required: boolean;
  /** Free text that is stored (a U+0000 in it cannot be). */
  text?: boolean;
}
const req = (accepts: Accepts, text = false): Field => ({ accepts, required: true, text });
const opt = (accepts: Accepts, text = false): Field => ({ accepts: optional(accepts), required: false, text });

/** One write route with a real target, a valid body and the fields its DTO has. */
interface WriteRoute {
  name: string;
  method: 'post' | 'put' | 'patch';
  path: () => string;
  body: () => Record<string, unknown>;
  fields: Record<string, Field>;
  /** The current version of the target, for updates. */
  version?: () => number;
  /** `existing-key`: the body's key exists (409 if it got through); `stale`: If-Match is stale. */
  safety: 'existing-key' | 'stale' | 'none';
}

describe('bad input to the admin API', () => {
  let h: AdminHarness;
  const versions: Record<string, number> = {};
  const ids = { sdkKey: '', token: '' };
  let fingerprintBefore: Record<string, string>;
  let sent = 0;

  const WRITES: WriteRoute[] = [
    {
      name: 'create project',
      method: 'post',
      path: () => `${API}/projects`,
      body: () => ({ key: P, name: 'Shop', description: 'the shop' }),
      fields: { key: req(A.key), name: req(A.nonEmpty, true), description: opt(A.string, true) },
      safety: 'existing-key',
    },
    {
      name: 'update project',
      method: 'patch',
      path: () => `${API}/projects/${P}`,
      body: () => ({ name: 'Shop 2', description: 'changed' }),
      fields: { name: opt(A.nonEmpty, true), description: opt(A.string, true), version: opt(A.number) },
      version: () => versions.project,
      safety: 'stale',
    },
    {
      name: 'create environment',
      method: 'post',
      path: () => `${API}/projects/${P}/environments`,
      body: () => ({ key: 'staging', name: 'Staging', parent: 'development', protected: false }),
      fields: { key: req(A.key), name: req(A.nonEmpty, true), parent: opt(A.key), protected: opt(A.bool) },
      safety: 'existing-key',
    },
    {
      name: 'update environment',
      method: 'patch',
      path: () => `${API}/projects/${P}/environments/staging`,
      body: () => ({ name: 'Staging 2', protected: false }),
      fields: { name: opt(A.nonEmpty, true), parent: opt(A.key), protected: opt(A.bool), version: opt(A.number) },
      version: () => versions.staging,
      safety: 'stale',
    },
    {
      name: 'create flag',
      method: 'post',
      path: () => `${API}/projects/${P}/flags`,
      body: () => ({
        key: 'banner',
        name: 'Banner',
        kind: 'string',
        variations: [
          { key: 'blue', value: 'blue' },
          { key: 'red', value: 'red' },
        ],
        description: 'colour',
        tags: ['ui'],
        clientVisible: true,
      }),
      fields: {
        key: req(A.key),
        name: opt(A.nonEmpty, true),
        kind: req(A.oneOf(...FLAG_KINDS)),
        variations: opt(A.objects),
        description: opt(A.string, true),
        tags: opt(A.keys),
        clientVisible: opt(A.bool),
      },
      safety: 'existing-key',
    },
    {
      name: 'update flag',
      method: 'patch',
      path: () => `${API}/projects/${P}/flags/dark-mode`,
      body: () => ({ name: 'Dark mode', description: 'night', tags: ['ui', 'beta'], clientVisible: false }),
      fields: {
        name: opt(A.nonEmpty, true),
        variations: opt(A.objects),
        description: opt(A.string, true),
        tags: opt(A.keys),
        clientVisible: opt(A.bool),
        version: opt(A.number),
      },
      version: () => versions.darkMode,
      safety: 'stale',
    },
    {
      name: 'put flag settings',
      method: 'put',
      path: () => `${API}/projects/${P}/flags/dark-mode/environments/staging`,
      body: () => validSettings(),
      fields: {
        on: req(A.bool),
        offVariation: req(A.string),
        prerequisites: req(A.array),
        rules: req(A.array),
        defaultServe: req(A.object),
        salt: opt(A.nonEmpty),
        version: opt(A.number),
      },
      version: () => versions.darkModeStaging,
      safety: 'stale',
    },
    {
      name: 'toggle flag',
      method: 'post',
      path: () => `${API}/projects/${P}/flags/dark-mode/environments/staging/toggle`,
      body: () => ({ on: true }),
      fields: { on: req(A.bool) },
      safety: 'none',
    },
    {
      name: 'create segment',
      method: 'post',
      path: () => `${API}/projects/${P}/segments`,
      body: () => ({ key: 'beta', name: 'Beta', description: 'testers', included: ['u-1'], excluded: ['u-2'], rules: [] }),
      fields: {
        key: req(A.key),
        name: opt(A.nonEmpty, true),
        description: opt(A.string, true),
        included: opt(A.strings),
        excluded: opt(A.strings),
        rules: opt(A.objects),
      },
      safety: 'existing-key',
    },
    {
      name: 'update segment',
      method: 'patch',
      path: () => `${API}/projects/${P}/segments/beta`,
      body: () => ({ name: 'Beta 2', included: ['u-3'] }),
      fields: {
        name: opt(A.nonEmpty, true),
        description: opt(A.string, true),
        included: opt(A.strings),
        excluded: opt(A.strings),
        rules: opt(A.objects),
        version: opt(A.number),
      },
      version: () => versions.beta,
      safety: 'stale',
    },
    {
      name: 'create SDK key',
      method: 'post',
      path: () => `${API}/projects/${P}/environments/staging/sdk-keys`,
      body: () => ({ kind: 'server', name: 'checkout-service' }),
      fields: { kind: req(A.oneOf('server', 'client')), name: req(A.nonEmpty, true) },
      safety: 'none',
    },
    {
      name: 'create token',
      method: 'post',
      path: () => `${API}/tokens`,
      body: () => ({ name: 'ci', role: 'viewer', project: P }),
      fields: { name: req(A.nonEmpty, true), role: req(A.oneOf('owner', 'editor', 'viewer')), project: opt(A.key) },
      safety: 'none',
    },
  ];

  // Counterexamples name the route instead of printing its functions.
  for (const route of WRITES) Object.defineProperty(route, fc.toStringMethod, { value: () => `<${route.name}>` });

  function validSettings(): Record<string, unknown> {
    return {
      on: true,
      offVariation: 'off',
      prerequisites: [],
      rules: [{ id: 'r1', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } }],
      defaultServe: {
        rollout: {
          variations: [
            { variation: 'on', weight: 50000 },
            { variation: 'off', weight: 50000 },
          ],
        },
      },
    };
  }

  /** The route's request with `body`, plus the safety defect (or the current version). */
  function writeRequest(route: WriteRoute, body: unknown, options: { safety?: boolean; extraHeaders?: Record<string, string> } = {}): BadRequest {
    const headers: Record<string, string> = { ...options.extraHeaders };
    if (route.version && !('If-Match' in headers)) {
      const stale = options.safety !== false && route.safety === 'stale';
      headers['If-Match'] = `"${route.version() + (stale ? 1000 : 0)}"`;
    }
    return { method: route.method, path: route.path(), body, headers };
  }

  async function send(r: BadRequest): Promise<Response> {
    sent++;
    let test = h.api().raw()[r.method](r.path).set('Authorization', `Bearer ${h.ownerToken}`);
    for (const [name, value] of Object.entries(r.headers ?? {})) test = test.set(name, value);
    if (r.raw !== undefined) return test.set('Content-Type', 'application/json').send(r.raw);
    if (r.body !== undefined) return test.send(r.body as object);
    return test;
  }

  /** The assertions every answer to a bad request must pass, and those of its kind of mistake. */
  async function check(r: BadRequest, want: Expectation): Promise<void> {
    const res = await send(r);
    const where = `${r.method.toUpperCase()} ${r.path} -> ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`;
    if (res.status < 400 || res.status > 499) throw new Error(`not a 4xx: ${where}`);
    const error = res.body?.error;
    expect(error).toEqual({ code: expect.any(String), message: expect.any(String), details: expect.any(Array), requestId: expect.any(String) });
    expect(error.message.length).toBeGreaterThan(0);
    for (const d of error.details as Array<{ path?: unknown; message?: unknown }>) {
      expect(typeof d.message === 'string' && d.message.length > 0).toBe(true);
      if (error.code === 'VALIDATION_FAILED') expect(typeof d.path === 'string' && d.path.length > 0).toBe(true);
    }
    if (res.status !== want.status || ![want.code].flat().includes(error.code)) {
      throw new Error(`expected ${want.status} ${want.code}: ${where}`);
    }
    if (want.path !== undefined) {
      const paths = (error.details as Array<{ path: string }>).map((d) => d.path);
      const p = want.path;
      if (!paths.some((x) => x === p || x.startsWith(`${p}.`) || x.startsWith(`${p}[`))) throw new Error(`no detail at "${p}": ${where}`);
    }
  }

  async function run<T>(arb: fc.Arbitrary<T>, numRuns: number, seedOffset: number, body: (value: T) => Promise<void>): Promise<void> {
    await fc.assert(fc.asyncProperty(arb, body), { seed: SEED + seedOffset, numRuns });
  }

  async function fingerprint(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const table of TABLES) {
      const [row] = await h.db.query<{ md5: string; n: string }>(`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS md5, count(*) AS n FROM ${table} t`);
      out[table] = `${row.n}:${row.md5}`;
    }
    // last_used_at moves with every authenticated request; everything else must not.
    const [tokens] = await h.db.query<{ md5: string; n: string }>(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS md5, count(*) AS n
         FROM (SELECT id, name, role, project_id, prefix, token_hash, created_by, created_at, revoked_at FROM api_tokens) t`,
    );
    out.api_tokens = `${tokens.n}:${tokens.md5}`;
    return out;
  }

  // ---- value generators -------------------------------------------------------------------------

  /** Any JSON value, including strings that are not keys and numbers of every kind. */
  const anyJson = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constantFrom('', ' ', 'On', 'TRUE', '1', '[]', '{}', 'null'),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  );
  /** A value the field certainly does not accept (decided on what travels over the wire). */
  const wrongFor = (field: Field) => anyJson.map(wire).filter((v) => v !== undefined && !field.accepts(v));

  const invalidKey = fc.oneof(
    fc.constantFrom('Shop', 'DARK-MODE', 'dark mode', ' shop', 'shop ', 'ünïcode', 'flag-😀', 'x'.repeat(200), 'a'.repeat(65), '..', '.', '.hidden', '-dash', '_under', 'a/b', 'a%2Fb', 'a?b', 'a#b', '\u0000', 'a\u0000b'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 70 }).filter((s) => !KEY_PATTERN.test(s) && s !== '.' && s !== '..'),
  );
  /** How an invalid key goes into a URL: percent-encoded, or raw where it is one path segment. */
  const keyInPath = (key: string) => (key === '..' || key === '.' ? key : encodeURIComponent(key));
  const missingKey = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,30}$/).map((s) => `missing-${s}`);

  // ---- the routes with path parameters ----------------------------------------------------------

  type Param = 'project' | 'env' | 'flag' | 'segment' | 'id';
  interface PathRoute {
    method: Method;
    template: string;
    /** A valid body and headers for the real target (current version, fresh keys). */
    body?: () => unknown;
    version?: () => number;
    /** Which kind of id `{id}` is. */
    id?: 'sdkKey' | 'token';
  }
  const PATH_ROUTES: PathRoute[] = [
    { method: 'get', template: '/projects/{project}' },
    { method: 'patch', template: '/projects/{project}', body: () => ({ name: 'x' }), version: () => versions.project },
    { method: 'get', template: '/projects/{project}/environments' },
    { method: 'post', template: '/projects/{project}/environments', body: () => ({ key: 'qa', name: 'QA' }) },
    { method: 'get', template: '/projects/{project}/environments/{env}' },
    { method: 'patch', template: '/projects/{project}/environments/{env}', body: () => ({ name: 'x' }), version: () => versions.staging },
    { method: 'get', template: '/projects/{project}/flags' },
    { method: 'post', template: '/projects/{project}/flags', body: () => ({ key: 'fresh-flag', kind: 'boolean' }) },
    { method: 'get', template: '/projects/{project}/flags/{flag}' },
    { method: 'patch', template: '/projects/{project}/flags/{flag}', body: () => ({ name: 'x' }), version: () => versions.darkMode },
    { method: 'post', template: '/projects/{project}/flags/{flag}/archive' },
    { method: 'post', template: '/projects/{project}/flags/{flag}/restore' },
    { method: 'get', template: '/projects/{project}/flags/{flag}/environments/{env}' },
    { method: 'put', template: '/projects/{project}/flags/{flag}/environments/{env}', body: validSettings, version: () => versions.darkModeStaging },
    { method: 'post', template: '/projects/{project}/flags/{flag}/environments/{env}/toggle', body: () => ({ on: false }) },
    { method: 'get', template: '/projects/{project}/segments' },
    { method: 'post', template: '/projects/{project}/segments', body: () => ({ key: 'fresh-segment' }) },
    { method: 'get', template: '/projects/{project}/segments/{segment}' },
    { method: 'patch', template: '/projects/{project}/segments/{segment}', body: () => ({ name: 'x' }), version: () => versions.beta },
    { method: 'delete', template: '/projects/{project}/segments/{segment}' },
    { method: 'get', template: '/projects/{project}/environments/{env}/sdk-keys' },
    { method: 'post', template: '/projects/{project}/environments/{env}/sdk-keys', body: () => ({ kind: 'client', name: 'web' }) },
    { method: 'delete', template: '/projects/{project}/environments/{env}/sdk-keys/{id}', id: 'sdkKey' },
    { method: 'delete', template: '/tokens/{id}', id: 'token' },
  ];
  for (const route of PATH_ROUTES) Object.defineProperty(route, fc.toStringMethod, { value: () => `<${route.method.toUpperCase()} ${route.template}>` });
  const REAL: Record<Exclude<Param, 'id'>, string> = { project: P, env: 'staging', flag: 'dark-mode', segment: 'beta' };
  const paramsOf = (template: string) => [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as Param);

  function pathRequest(route: PathRoute, replace: Partial<Record<Param, string>>): BadRequest {
    const path = route.template.replace(/\{(\w+)\}/g, (_, name: Param) => {
      if (replace[name] !== undefined) return replace[name]!;
      return name === 'id' ? ids[route.id!] : REAL[name];
    });
    const headers = route.version ? { 'If-Match': `"${route.version()}"` } : undefined;
    return { method: route.method, path: `${API}${path}`, body: route.body?.(), headers };
  }

  // ---- the fixture ------------------------------------------------------------------------------

  beforeAll(async () => {
    h = await startAdmin();
    const owner = h.api(h.ownerToken);
    const ok = async (res: Promise<Response> | Response, status: number) => {
      const r = await res;
      if (r.status !== status) throw new Error(`fixture: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`);
      return r;
    };
    await createProject(h, P);
    await ok(owner.post(`${API}/projects/${P}/flags`, { key: 'dark-mode', kind: 'boolean', tags: ['ui'] }), 201);
    await ok(owner.post(`${API}/projects/${P}/flags`, WRITES[4].body()), 201);
    await ok(
      owner.post(`${API}/projects/${P}/segments`, {
        key: 'beta',
        included: ['u-1'],
        rules: [{ id: 's1', clauses: [{ attribute: 'plan', operator: 'in', values: ['pro'] }] }],
      }),
      201,
    );
    await ok(owner.put(`${API}/projects/${P}/flags/dark-mode/environments/staging`, validSettings()).set('If-Match', '"1"'), 200);
    ids.sdkKey = (await ok(owner.post(`${API}/projects/${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' }), 201)).body.id;
    await createToken(h, 'viewer', P);
    ids.token = (await ok(owner.get(`${API}/tokens`), 200)).body.items.find((t: { project: string | null }) => t.project === P).id;

    const version = async (path: string) => (await ok(owner.get(`${API}${path}`), 200)).body.version as number;
    versions.project = await version(`/projects/${P}`);
    versions.staging = await version(`/projects/${P}/environments/staging`);
    versions.darkMode = await version(`/projects/${P}/flags/dark-mode`);
    versions.darkModeStaging = await version(`/projects/${P}/flags/dark-mode/environments/staging`);
    versions.bannerProduction = await version(`/projects/${P}/flags/banner/environments/production`);
    versions.beta = await version(`/projects/${P}/segments/beta`);
    expect(versions.darkModeStaging).toBe(2);

    // The relay stamps published_at on outbox rows: let it finish before taking the fingerprint.
    await eventually(async () => (await h.db.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'))[0].n === '0');
    fingerprintBefore = await fingerprint();
  });

  afterAll(async () => {
    await h?.close();
  });

  // ---- the properties ---------------------------------------------------------------------------

  it('refuses malformed JSON text with 400 BAD_REQUEST', async () => {
    const broken = fc
      .tuple(fc.constantFrom(...WRITES), fc.nat(), fc.constantFrom('{', '}', ',', ':', '"', "'", '[', ']', 'x', '\\', ',}', 'NaN', 'undefined'))
      .map(([route, at, junk]) => {
        const text = JSON.stringify(route.body());
        const pos = 1 + (at % (text.length - 1));
        return { route, raw: `${text.slice(0, pos)}${junk}${text.slice(pos)}` };
      });
    const truncated = fc.tuple(fc.constantFrom(...WRITES), fc.nat()).map(([route, at]) => {
      const text = JSON.stringify(route.body());
      return { route, raw: text.slice(0, 1 + (at % (text.length - 1))) };
    });
    // Strict mode: only objects and arrays at the top.
    const scalar = fc.tuple(fc.constantFrom(...WRITES), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 20 }))).map(([route, v]) => ({ route, raw: JSON.stringify(v) }));
    const junk = fc.tuple(fc.constantFrom(...WRITES), fc.string({ minLength: 1, maxLength: 60 })).map(([route, raw]) => ({ route, raw }));
    const notJson = (raw: string) => {
      if (raw.trim() === '') return false;
      try {
        const v: unknown = JSON.parse(raw);
        return v === null || typeof v !== 'object';
      } catch {
        return true;
      }
    };
    await run(
      fc.oneof(broken, truncated, scalar, junk).filter(({ raw }) => notJson(raw)),
      300,
      1,
      async ({ route, raw }) => check({ ...writeRequest(route, undefined), raw }, { status: 400, code: 'BAD_REQUEST' }),
    );
  });

  it('refuses a wrong type or value in any field with 400 VALIDATION_FAILED naming the field', async () => {
    const arb = fc
      .constantFrom(...WRITES.flatMap((route) => Object.entries(route.fields).map(([name, field]) => ({ route, name, field }))))
      .chain(({ route, name, field }) => wrongFor(field).map((value) => ({ route, name, value })));
    await run(arb, 450, 2, async ({ route, name, value }) =>
      check(writeRequest(route, { ...route.body(), [name]: value }), { status: 400, code: 'VALIDATION_FAILED', path: name }),
    );
  });

  it('refuses unknown fields with 400 VALIDATION_FAILED "unknown field"', async () => {
    const everyField = new Set(WRITES.flatMap((r) => Object.keys(r.fields)));
    const name = fc.oneof(
      fc.constantFrom('id', 'createdAt', 'updatedAt', 'archived', 'environments', 'revision', 'token', 'keyHash', 'projectId', 'Key', 'NAME', 'on ', 'extra'),
      fc.stringMatching(/^[A-Za-z_$][\w$]{0,20}$/).filter((n) => !everyField.has(n) && !['__proto__', 'constructor', 'prototype'].includes(n)),
    );
    // `version` is a field of updates only: on creates and toggles it is unknown too.
    const extra = fc.constantFrom(...WRITES).chain((route) =>
      fc.tuple(fc.constant(route), fc.oneof(name, route.fields.version ? name : fc.constant('version')), fc.jsonValue({ maxDepth: 2 })),
    );
    await run(extra.filter(([route, n]) => !(n in route.fields)), 300, 3, async ([route, n, value]) =>
      check(writeRequest(route, { ...route.body(), [n]: value }), { status: 400, code: 'VALIDATION_FAILED', path: n }),
    );
  });

  it('refuses fields named after Object.prototype members as unknown fields', async () => {
    // Sent as raw JSON so "__proto__" arrives as an ordinary own property, as a client's would.
    // Only routes with a safety defect: where these names slip through, nothing gets written.
    const guarded = WRITES.filter((r) => r.safety !== 'none');
    const arb = fc.tuple(fc.constantFrom(...guarded), fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.constantFrom('{}', '{"role":"owner"}', '1', '"x"', 'null'));
    await run(arb, 30, 4, async ([route, n, value]) => {
      const raw = `${JSON.stringify(route.body()).slice(0, -1)},"${n}":${value}}`;
      await check({ ...writeRequest(route, undefined), raw }, { status: 400, code: 'VALIDATION_FAILED', path: n });
    });
  });

  it('refuses a missing required field with 400 VALIDATION_FAILED naming it', async () => {
    const arb = fc.constantFrom(
      ...WRITES.flatMap((route) =>
        Object.entries(route.fields)
          .filter(([, f]) => f.required)
          .map(([name]) => ({ route, name })),
      ),
    );
    await run(arb, 60, 5, async ({ route, name }) => {
      const { [name]: _dropped, ...body } = route.body();
      await check(writeRequest(route, body), { status: 400, code: 'VALIDATION_FAILED', path: name });
    });
  });

  it('refuses bodies over 256 kb with 413 PAYLOAD_TOO_LARGE', async () => {
    const arb = fc.tuple(fc.constantFrom(...WRITES), fc.integer({ min: 256 * 1024 + 1, max: 700 * 1024 }), fc.constantFrom('x', 'é', ' '));
    await run(arb, 20, 6, async ([route, size, fill]) => {
      const body = { ...route.body(), description: fill.repeat(size) };
      expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(256 * 1024);
      await check(writeRequest(route, body), { status: 413, code: 'PAYLOAD_TOO_LARGE' });
    });
  });

  it('refuses invalid keys and ids in paths with 400 BAD_REQUEST naming the parameter', async () => {
    const arb = fc
      .constantFrom(...PATH_ROUTES.flatMap((route) => paramsOf(route.template).map((param) => ({ route, param }))))
      .chain(({ route, param }) =>
        (param === 'id'
          ? fc.oneof(fc.constantFrom('1', 'not-a-uuid', '00000000-0000-0000-0000-00000000000g', '..', '%00', `${ids[route.id!]}0`), invalidKey)
          : invalidKey
        ).map((bad) => ({ route, param, bad })),
      );
    await run(arb, 400, 7, async ({ route, param, bad }) => {
      const inPath = bad === '%00' ? bad : keyInPath(bad);
      await check(pathRequest(route, { [param]: inPath }), { status: 400, code: 'BAD_REQUEST', path: param });
    });
  });

  it('answers unknown projects, environments, flags, segments, SDK keys and tokens with 404 NOT_FOUND', async () => {
    const arb = fc
      .constantFrom(...PATH_ROUTES.flatMap((route) => paramsOf(route.template).map((param) => ({ route, param }))))
      .chain(({ route, param }) => (param === 'id' ? fc.uuid() : missingKey).map((missing) => ({ route, param, missing })));
    const tokenForMissingProject = missingKey.map((project) => ({ kind: 'token' as const, project }));
    await run(fc.oneof(arb, tokenForMissingProject), 300, 8, async (c) => {
      if ('kind' in c) {
        await check({ method: 'post', path: `${API}/tokens`, body: { name: 'ci', role: 'viewer', project: c.project } }, { status: 404, code: 'NOT_FOUND' });
        return;
      }
      await check(pathRequest(c.route, { [c.param]: c.missing }), { status: 404, code: 'NOT_FOUND' });
    });
  });

  it('refuses missing versions with 428, stale ones with 409 and disagreeing ones with 400', async () => {
    const updates = WRITES.filter((r) => r.version);
    const stale = (route: WriteRoute) => fc.integer({ min: 0, max: 999_999_999 }).filter((v) => v !== route.version!());
    const arb = fc.constantFrom(...updates).chain((route) =>
      fc.oneof(
        fc.constant({ route, kind: 'missing' as const, v: 0 }),
        stale(route).map((v) => ({ route, kind: 'stale-header' as const, v })),
        stale(route).map((v) => ({ route, kind: 'stale-weak-header' as const, v })),
        stale(route)
          .filter((v) => v >= 1)
          .map((v) => ({ route, kind: 'stale-body' as const, v })),
        stale(route)
          .filter((v) => v >= 1)
          .map((v) => ({ route, kind: 'disagree' as const, v })),
      ),
    );
    await run(arb, 300, 9, async ({ route, kind, v }) => {
      const current = route.version!();
      const body = route.body();
      const base = { method: route.method, path: route.path() };
      switch (kind) {
        case 'missing':
          return check({ ...base, body }, { status: 428, code: 'PRECONDITION_REQUIRED', path: 'version' });
        case 'stale-header':
          return check({ ...base, body, headers: { 'If-Match': `"${v}"` } }, { status: 409, code: 'VERSION_CONFLICT' });
        case 'stale-weak-header':
          return check({ ...base, body, headers: { 'If-Match': `W/"${v}"` } }, { status: 409, code: 'VERSION_CONFLICT' });
        case 'stale-body':
          return check({ ...base, body: { ...body, version: v } }, { status: 409, code: 'VERSION_CONFLICT' });
        case 'disagree':
          return check({ ...base, body: { ...body, version: v }, headers: { 'If-Match': `"${current}"` } }, { status: 400, code: 'BAD_REQUEST', path: 'version' });
      }
    });
  });

  it('refuses If-Match headers that are not a version with 400 BAD_REQUEST', async () => {
    const VERSION = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/;
    const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 30 });
    const header = fc
      .oneof(
        fc.constantFrom('*', 'abc', '"1.5"', '"-1"', '-1', '1e3', '"1234567890"', '1234567890', '"1", "2"', 'W/', 'W/"x"', '""', '"', 'w/"1"', '0x1', '"1"x', '"\u00b9"'),
        printable,
      )
      .filter((v) => !VERSION.test(v));
    const arb = fc.tuple(fc.constantFrom(...WRITES.filter((r) => r.version)), header);
    await run(arb, 200, 10, async ([route, value]) =>
      check(writeRequest(route, route.body(), { extraHeaders: { 'If-Match': value } }), { status: 400, code: 'BAD_REQUEST', path: 'If-Match' }),
    );
  });

  it('refuses invalid rules, serves, rollouts, patterns and prerequisites with 400 VALIDATION_FAILED at their path', async () => {
    /** The two targets: the boolean flag in staging, the string flag in the protected production. */
    const TARGETS = [
      { flag: 'dark-mode', env: 'staging', on: 'on', off: 'off', version: () => versions.darkModeStaging, other: 'banner', otherVariation: 'blue' },
      { flag: 'banner', env: 'production', on: 'blue', off: 'red', version: () => versions.bannerProduction, other: 'dark-mode', otherVariation: 'on' },
    ];
    type Target = (typeof TARGETS)[number];
    type Case = { settings: Record<string, unknown>; path: string };
    const settingsFor = (t: Target): Record<string, unknown> => ({
      on: true,
      offVariation: t.off,
      prerequisites: [],
      rules: [{ id: 'r1', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: t.on } }],
      defaultServe: { rollout: { variations: [{ variation: t.on, weight: 50000 }, { variation: t.off, weight: 50000 }] } },
    });
    const clause = (operator: string, values: unknown[], attribute: string | null = 'country') => ({ ...(attribute === null ? {} : { attribute }), operator, values });
    const unknownVariation = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/).filter((v) => !['on', 'off', 'blue', 'red'].includes(v));
    const unsafePattern = fc.constantFrom('(a+)+$', '(a*)*b', '(a|aa)+$', '(\\w+\\s?)*$', '(.*a){12}', '^a*a*a*$', '^(a|ab)*c$', '(a)\\1', '(?=a)b', '(?<!a)b', '(', '[a-', 'a{2,1}', '*a');
    const operator = fc.string({ maxLength: 12 }).filter((o) => !(CLAUSE_OPERATORS as readonly string[]).includes(o));
    const badClause = fc.oneof(
      operator.map((op) => clause(op, ['de'])),
      fc.tuple(unsafePattern, fc.boolean()).map(([pattern, ci]) => ({ ...clause('matches', [pattern], 'email'), caseInsensitive: ci })),
      fc.constantFrom(
        clause('exists', ['x']),
        clause('equals', ['a', 'b']),
        clause('in', []),
        clause('lt', ['ten']),
        clause('semverGt', ['not-a-version']),
        clause('before', ['notadate']),
        clause('in', ['de'], null),
        clause('in', ['de'], ''),
        clause('inSegment', ['no-such-segment'], null),
        clause('inSegment', ['beta'], 'country'),
        { ...clause('lt', [1]), caseInsensitive: true },
        { ...clause('in', ['de']), weird: 1 },
        { ...clause('in', ['de']), values: 'de' },
      ),
    );
    /** Weights (units of 1/100,000) that do not sum to 100,000, or are negative or fractional. */
    const badWeights = fc.oneof(
      fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 2 }).filter((w) => w.reduce((a, b) => a + b, 0) !== 100_000),
      fc.integer({ min: 1, max: 100_000 }).map((w) => [100_000 + w, -w]),
      fc.double({ min: 0.01, max: 99_999.99, noNaN: true }).filter((w) => !Number.isInteger(w)).map((w) => [w, 100_000 - w]),
    );
    const cases = (t: Target): fc.Arbitrary<Case> => {
      const base = settingsFor(t);
      const rule = (c: unknown, serve: unknown = { variation: t.on }, id = 'r1') => ({ id, clauses: [c], serve });
      return fc.oneof(
        badClause.map((c) => ({ settings: { ...base, rules: [rule(c)] }, path: 'rules[0].clauses[0]' })),
        unknownVariation.map((v) => ({ settings: { ...base, rules: [rule(clause('in', ['de']), { variation: v })] }, path: 'rules[0].serve' })),
        unknownVariation.map((v) => ({ settings: { ...base, defaultServe: { variation: v } }, path: 'defaultServe' })),
        unknownVariation.map((v) => ({ settings: { ...base, offVariation: v }, path: 'offVariation' })),
        unknownVariation.map((v) => ({
          settings: { ...base, defaultServe: { rollout: { variations: [{ variation: t.on, weight: 50000 }, { variation: v, weight: 50000 }] } } },
          path: 'defaultServe.rollout',
        })),
        badWeights.map((w) => ({
          settings: { ...base, defaultServe: { rollout: { variations: w.map((weight, i) => ({ variation: i ? t.off : t.on, weight })) } } },
          path: 'defaultServe.rollout',
        })),
        fc.constantFrom<Case>(
          { settings: { ...base, rules: [rule(clause('in', ['de'])), rule(clause('in', ['fr']))] }, path: 'rules[1].id' },
          { settings: { ...base, rules: [5] }, path: 'rules[0]' },
          { settings: { ...base, rules: [null] }, path: 'rules[0]' },
          { settings: { ...base, rules: [{ id: 'r1', clauses: [] }] }, path: 'rules[0]' },
          { settings: { ...base, rules: [{ ...rule(clause('in', ['de'])), extra: true }] }, path: 'rules[0]' },
          { settings: { ...base, defaultServe: {} }, path: 'defaultServe' },
          { settings: { ...base, defaultServe: { variation: t.on, rollout: { variations: [{ variation: t.on, weight: 100000 }] } } }, path: 'defaultServe' },
          { settings: { ...base, defaultServe: { rollout: { variations: [] } } }, path: 'defaultServe.rollout' },
          { settings: { ...base, prerequisites: [{ flag: t.flag, variations: [t.on] }] }, path: 'prerequisites[0]' },
          { settings: { ...base, prerequisites: [{ flag: 'no-such-flag', variations: ['on'] }] }, path: 'prerequisites[0]' },
          { settings: { ...base, prerequisites: [{ flag: t.other, variations: ['green'] }] }, path: 'prerequisites[0]' },
          { settings: { ...base, prerequisites: [{ flag: t.other }] }, path: 'prerequisites[0]' },
          { settings: { ...base, prerequisites: [{ flag: t.other, variations: [t.otherVariation] }, { flag: t.other, variations: [t.otherVariation] }] }, path: 'prerequisites[1]' },
        ),
      );
    };
    const arb = fc.constantFrom(...TARGETS).chain((t) => cases(t).map((c) => ({ t, ...c })));
    await run(arb, 350, 11, async ({ t, settings, path }) =>
      check(
        { method: 'put', path: `${API}/projects/${P}/flags/${t.flag}/environments/${t.env}`, body: settings, headers: { 'If-Match': `"${t.version()}"` } },
        { status: 400, code: 'VALIDATION_FAILED', path },
      ),
    );
  });

  it('refuses invalid segment rules and flag variations with 400 VALIDATION_FAILED', async () => {
    const operator = fc.string({ maxLength: 12 }).filter((o) => !(CLAUSE_OPERATORS as readonly string[]).includes(o));
    const segment = fc.oneof(
      operator.map((op) => ({ rules: [{ id: 's1', clauses: [{ attribute: 'plan', operator: op, values: ['pro'] }] }], path: 'rules[0].clauses[0]' })),
      fc.constantFrom(
        { rules: [{ id: 's1', clauses: [{ attribute: 'email', operator: 'matches', values: ['(a+)+$'] }] }], path: 'rules[0].clauses[0]' },
        { rules: [{ id: 's1', clauses: [{ operator: 'inSegment', values: ['beta'] }] }], path: 'rules[0].clauses[0]' },
        { rules: [{ id: 's1', clauses: [] }, { id: 's1', clauses: [] }], path: 'rules[1].id' },
        { rules: [{ id: 's1', clauses: [], serve: { variation: 'on' } }], path: 'rules[0]' },
        { rules: [{ id: 's1', clauses: [{ operator: 'inSegment', values: ['nope'] }] }], path: 'rules[0].clauses[0]' },
      ),
    );
    const variations = fc.constantFrom(
      { kind: 'boolean', variations: [{ key: 'on', value: true }], path: 'variations' },
      { kind: 'boolean', variations: [{ key: 'on', value: true }, { key: 'off', value: 'false' }], path: 'variations' },
      { kind: 'string', variations: [{ key: 'a', value: 'x' }, { key: 'a', value: 'y' }], path: 'variations[1]' },
      { kind: 'string', variations: [{ key: 'a', value: 1 }], path: 'variations[0]' },
      { kind: 'number', variations: [{ key: 'a', value: '1' }], path: 'variations[0]' },
      { kind: 'string', variations: [{ key: 'Not A Key', value: 'x' }], path: 'variations[0]' },
      { kind: 'string', variations: [], path: 'variations' },
      { kind: 'json', variations: [{ key: 'a' }], path: 'variations[0]' },
    );
    await run(fc.oneof(segment.map((s) => ({ s })), variations.map((v) => ({ v }))), 150, 12, async (c) => {
      // Existing keys: if validation let it through, the insert would be a 409, not a write.
      if ('s' in c) {
        await check({ method: 'post', path: `${API}/projects/${P}/segments`, body: { key: 'beta', rules: c.s.rules } }, { status: 400, code: 'VALIDATION_FAILED', path: c.s.path });
      } else {
        await check(
          { method: 'post', path: `${API}/projects/${P}/flags`, body: { key: 'banner', kind: c.v.kind, variations: c.v.variations } },
          { status: 400, code: 'VALIDATION_FAILED', path: c.v.path },
        );
      }
    });
  });

  // ---- query parameters -------------------------------------------------------------------------

  /** The list routes, what their cursor holds, and their query parameters besides limit and cursor. */
  const LISTS: Array<{ path: string; cursor: 'string' | 'uuid' | 'number'; extra: string[] }> = [
    { path: `${API}/projects`, cursor: 'string', extra: [] },
    { path: `${API}/projects/${P}/environments`, cursor: 'string', extra: [] },
    { path: `${API}/projects/${P}/flags`, cursor: 'string', extra: ['archived', 'tag'] },
    { path: `${API}/projects/${P}/segments`, cursor: 'string', extra: [] },
    { path: `${API}/projects/${P}/environments/staging/sdk-keys`, cursor: 'uuid', extra: [] },
    { path: `${API}/tokens`, cursor: 'uuid', extra: [] },
    { path: `${API}/audit`, cursor: 'number', extra: ['project', 'environment', 'targetType', 'targetKey', 'action', 'actor', 'since', 'until'] },
  ];
  const cursorOf = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
  /** Mirrors the server's decoding: true when `s` is a cursor of the right JSON type. */
  const decodes = (s: string, kind: 'string' | 'uuid' | 'number') => {
    try {
      const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
      return typeof v === (kind === 'number' ? 'number' : 'string');
    } catch {
      return false;
    }
  };

  it('refuses invalid query parameters with 400', async () => {
    const notLimit = fc
      .oneof(
        fc.constantFrom('0', '-1', '201', '1000000', 'abc', '1.5', '', ' ', 'NaN', 'Infinity', '2e3', 'one', '١'),
        fc.integer({ min: -1_000_000, max: 0 }).map(String),
        fc.integer({ min: 201, max: 2 ** 31 }).map(String),
        fc.string({ maxLength: 10 }),
      )
      .filter((s) => {
        const n = Number(s);
        return !(Number.isInteger(n) && n >= 1 && n <= 200);
      });
    const noDigits = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzTZ :-.'.split('')), minLength: 1, maxLength: 30 });
    const notDate = fc.oneof(fc.constantFrom('notadate', '2024-13-01', '2024-02-30', '2024-01-01T25:00:00Z', '01/02/2024', 'yesterday', '2024-1-1', '20240101T'), noDigits);
    const arb = fc.constantFrom(...LISTS).chain((list) => {
      const cases: Array<fc.Arbitrary<{ query: string; path: string }>> = [
        notLimit.map((v) => ({ query: `limit=${encodeURIComponent(v)}`, path: 'limit' })),
        fc.tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 200 })).map(([a, b]) => ({ query: `limit=${a}&limit=${b}`, path: 'limit' })),
        fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !decodes(s, list.cursor)).map((v) => ({ query: `cursor=${encodeURIComponent(v)}`, path: 'cursor' })),
        fc.string({ minLength: 201, maxLength: 260 }).map((v) => ({ query: `cursor=${encodeURIComponent(v)}`, path: 'cursor' })),
        fc.stringMatching(/^[a-z][a-zA-Z]{0,15}$/)
          .filter((n) => !['limit', 'cursor', ...list.extra].includes(n))
          .map((n) => ({ query: `${n}=1`, path: n })),
      ];
      if (list.cursor !== 'number') cases.push(fc.oneof(fc.integer(), fc.boolean()).map((v) => ({ query: `cursor=${cursorOf(v)}`, path: 'cursor' })));
      if (list.cursor === 'number') cases.push(fc.string({ maxLength: 10 }).map((v) => ({ query: `cursor=${cursorOf(v)}`, path: 'cursor' })));
      if (list.extra.includes('archived')) {
        cases.push(fc.string({ maxLength: 8 }).filter((v) => v !== 'true' && v !== 'false').map((v) => ({ query: `archived=${encodeURIComponent(v)}`, path: 'archived' })));
        cases.push(invalidKey.map((v) => ({ query: `tag=${encodeURIComponent(v)}`, path: 'tag' })));
      }
      if (list.extra.includes('since')) {
        cases.push(fc.tuple(fc.constantFrom('since', 'until'), notDate).map(([p, v]) => ({ query: `${p}=${encodeURIComponent(v)}`, path: p })));
        cases.push(fc.tuple(fc.constantFrom('project', 'environment'), invalidKey).map(([p, v]) => ({ query: `${p}=${encodeURIComponent(v)}`, path: p })));
        cases.push(
          fc.tuple(fc.constantFrom(['targetType', 64], ['action', 64], ['actor', 64], ['targetKey', 200]) as fc.Arbitrary<[string, number]>, fc.integer({ min: 1, max: 50 })).map(
            ([[p, max], over]) => ({ query: `${p}=${'x'.repeat(max + over)}`, path: p }),
          ),
        );
      }
      return fc.oneof(...cases).map((c) => ({ list, ...c }));
    });
    await run(arb, 350, 13, async ({ list, query, path }) =>
      // A bad cursor and a bad DTO field both answer VALIDATION_FAILED with the field's path.
      check({ method: 'get', path: `${list.path}?${query}` }, { status: 400, code: 'VALIDATION_FAILED', path }),
    );
  });

  it('refuses well-formed but forged cursors with 400, not 500', async () => {
    // A cursor the API never issued: a non-UUID id for id-keyed lists, a non-integer sequence number
    // for the audit, a key with U+0000 (no key has one) for key-ordered lists.
    const arb = fc.oneof(
      fc.tuple(fc.constantFrom(...LISTS.filter((l) => l.cursor === 'string')), fc.string({ maxLength: 10 })).map(([list, v]) => ({ list, cursor: cursorOf(`${v}\u0000`) })),
      fc.tuple(fc.constantFrom(...LISTS.filter((l) => l.cursor === 'uuid')), fc.string({ maxLength: 40 })).map(([list, v]) => ({ list, cursor: cursorOf(v) })),
      fc.tuple(fc.constantFrom(...LISTS.filter((l) => l.cursor === 'number')), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)), fc.constantFrom(1e20, 1e300, 2 ** 63, 0.5)))
        .map(([list, v]) => ({ list, cursor: cursorOf(v) })),
    );
    await run(arb, 80, 14, async ({ list, cursor }) => check({ method: 'get', path: `${list.path}?cursor=${cursor}` }, { status: 400, code: 'VALIDATION_FAILED', path: 'cursor' }));
  });

  it('refuses text Postgres cannot store (U+0000) with 400, not 500', async () => {
    const nul = fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 })).map(([a, b]) => `${a}\u0000${b}`);
    const bodyCase = fc
      .constantFrom(...WRITES.flatMap((route) => Object.entries(route.fields).filter(([, f]) => f.text).map(([name]) => ({ route, name }))))
      .chain(({ route, name }) => nul.map((value) => ({ route, name, value })));
    const segmentKeys = fc.tuple(fc.constantFrom('included', 'excluded'), nul).map(([name, value]) => ({ route: WRITES[8], name, value: [value] as unknown }));
    const queryCase = fc.tuple(fc.constantFrom('targetType', 'targetKey', 'action', 'actor'), nul).map(([param, value]) => ({ param, value }));
    await run(fc.oneof(bodyCase, segmentKeys, queryCase), 100, 15, async (c) => {
      if ('param' in c) {
        await check({ method: 'get', path: `${API}/audit?${c.param}=${encodeURIComponent(c.value)}` }, { status: 400, code: 'VALIDATION_FAILED', path: c.param });
      } else {
        await check(writeRequest(c.route, { ...c.route.body(), [c.name]: c.value }), { status: 400, code: 'VALIDATION_FAILED', path: c.name });
      }
    });
  });

  // Runs last, after the properties above (one file, one database): alone it would prove nothing,
  // hence the count of requests sent.
  it('wrote nothing: every table holds what it held before, and the audit chain verifies', async () => {
    expect(sent).toBeGreaterThan(2500);
    await new Promise((r) => setTimeout(r, 300)); // let a stray relay tick or token touch land
    expect(await fingerprint()).toEqual(fingerprintBefore);
    const verify = await h.api(h.ownerToken).get(`${API}/audit/verify`);
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true });
  });
});
