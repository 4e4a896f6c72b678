/**
 * OFREP (open-feature/protocol service/openapi.yaml + ADR-0008 event streams) against the real
 * gateway, through the unmodified OpenFeature providers: @openfeature/ofrep-provider (server,
 * dynamic context, one POST per evaluation) and @openfeature/ofrep-web-provider (static context,
 * bulk evaluation, ETag, eventStreams over EventSource), plus raw HTTP for what they do not show.
 */
import { get } from 'node:http';
import { OpenFeature as ServerOpenFeature, type Client as ServerClient } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature as WebOpenFeature, ProviderEvents, ProviderStatus, type Client as WebClient } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { openSse, type SseClient } from './support/sse-client';

const P = '/api/v1/projects/shop';
/**
 * openapi.yaml's evaluationSuccess.reason enum, plus DEFAULT: the enum omits it, but ADR-0006's own
 * example answers `"reason": "DEFAULT"`, OpenFeature defines it, and both providers pass it through.
 */
const OFREP_REASONS = ['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'UNKNOWN', 'DEFAULT'];
const DARK = { mode: 'dark', contrast: 2 };
const LIGHT = { mode: 'light', contrast: 1 };

/** One request a provider sent, and the status it got. */
interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  status: number;
  etag: string | null;
}

/** A fetch that records what the provider sends (the providers take `fetchImplementation`). */
function recordingFetch(log: Sent[]): typeof fetch {
  return async (input, init) => {
    const req = new Request(input, init);
    const body = await req.clone().text();
    const res = await fetch(req);
    log.push({ method: req.method, url: req.url, headers: Object.fromEntries(req.headers), body, status: res.status, etag: res.headers.get('etag') });
    return res;
  };
}

type EsListener = (event: { type: string; data?: string; lastEventId?: string }) => void;

/**
 * What a browser gives the web provider: a WHATWG EventSource (no custom headers, Last-Event-ID on
 * reconnect, `retry:` honoured, a non-200 / non-event-stream answer fails the connection for
 * good). Node 20 has none without --experimental-eventsource, so this one runs over fetch.
 */
class FetchEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static readonly opened: FetchEventSource[] = [];
  readyState = FetchEventSource.CONNECTING;
  lastEventId = '';
  /** Connection attempts, and the Last-Event-ID each one sent. */
  readonly attempts: string[] = [];
  private readonly listeners = new Map<string, Set<EsListener>>();
  private readonly controller = new AbortController();
  private retryMs = 1000;

  constructor(readonly url: string) {
    FetchEventSource.opened.push(this);
    void this.connect();
  }

  addEventListener(type: string, listener: EsListener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }

  removeEventListener(type: string, listener: EsListener): void {
    this.listeners.get(type)?.delete(listener);
  }

  close(): void {
    this.readyState = FetchEventSource.CLOSED;
    this.controller.abort();
  }

  private emit(type: string, init: { data?: string; lastEventId?: string } = {}): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener({ type, ...init });
  }

  private async connect(): Promise<void> {
    this.attempts.push(this.lastEventId);
    let res: Response;
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
      if (this.lastEventId) headers['Last-Event-ID'] = this.lastEventId;
      res = await fetch(this.url, { headers, signal: this.controller.signal });
    } catch {
      return this.reconnect();
    }
    if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/event-stream') || !res.body) {
      this.readyState = FetchEventSource.CLOSED;
      this.emit('error');
      return;
    }
    this.readyState = FetchEventSource.OPEN;
    this.emit('open');
    const decoder = new TextDecoder();
    let buffer = '';
    let data: string[] = [];
    let event = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (data.length) this.emit(event || 'message', { data: data.join('\n'), lastEventId: this.lastEventId });
            data = [];
            event = '';
            continue;
          }
          if (line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
          else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
        }
      }
    } catch {
      // aborted or reset
    }
    this.reconnect();
  }

  private reconnect(): void {
    if (this.readyState === FetchEventSource.CLOSED) return;
    this.readyState = FetchEventSource.CONNECTING;
    this.emit('error');
    setTimeout(() => {
      if (this.readyState !== FetchEventSource.CLOSED) void this.connect();
    }, this.retryMs).unref();
  }
}

describe('OFREP', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let serverKey: string;
  let clientKey: string;
  const open: SseClient[] = [];
  const realEventSource = (globalThis as { EventSource?: unknown }).EventSource;

  const toggle = async (flag: string, on: boolean) => {
    const res = await api.post(`${P}/flags/${flag}/environments/staging/toggle`, { on });
    expect(res.status).toBe(200);
  };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}, base = gw.url) =>
    fetch(`${base}/ofrep/v1/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
  /** The gateway's revision of staging (what the bulk response reports). */
  const revision = async (): Promise<number> => {
    const res = await post('evaluate/flags', { context: {} }, bearer(serverKey));
    return ((await res.json()) as { metadata: { revision: number } }).metadata.revision;
  };
  const sse = async (url: string, headers: Record<string, string> = {}) => {
    const c = await openSse(url, headers);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    (globalThis as { EventSource?: unknown }).EventSource = FetchEventSource;
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    const created = await Promise.all([
      // boolean, client-visible: a rule for country=de, default off.
      api.post(`${P}/flags`, { key: 'checkout', kind: 'boolean', clientVisible: true }),
      // string, server-only: a rule for plan=premium.
      api.post(`${P}/flags`, { key: 'banner', kind: 'string', variations: [{ key: 'blue', value: 'blue' }, { key: 'gold', value: 'gold' }] }),
      // number, client-visible, static.
      api.post(`${P}/flags`, { key: 'limit', kind: 'number', clientVisible: true, variations: [{ key: 'small', value: 10 }, { key: 'large', value: 100 }] }),
      // json, client-visible, 50/50 rollout by targetingKey.
      api.post(`${P}/flags`, { key: 'theme', kind: 'json', clientVisible: true, variations: [{ key: 'dark', value: DARK }, { key: 'light', value: LIGHT }] }),
      // boolean, server-only, left off.
      api.post(`${P}/flags`, { key: 'legacy', kind: 'boolean' }),
    ]);
    for (const r of created) expect(r.status).toBe(201);
    const settings = (body: object) => ({ prerequisites: [], rules: [], version: 1, ...body });
    const puts = await Promise.all([
      api.put(`${P}/flags/checkout/environments/staging`, settings({
        on: true, offVariation: 'off', defaultServe: { variation: 'off' },
        rules: [{ id: 'de', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } }],
      })),
      api.put(`${P}/flags/banner/environments/staging`, settings({
        on: true, offVariation: 'blue', defaultServe: { variation: 'blue' },
        rules: [{ id: 'premium', clauses: [{ attribute: 'plan', operator: 'equals', values: ['premium'] }], serve: { variation: 'gold' } }],
      })),
      api.put(`${P}/flags/limit/environments/staging`, settings({ on: true, offVariation: 'small', defaultServe: { variation: 'large' } })),
      api.put(`${P}/flags/theme/environments/staging`, settings({
        on: true, offVariation: 'light',
        defaultServe: { rollout: { variations: [{ variation: 'dark', weight: 50_000 }, { variation: 'light', weight: 50_000 }] } },
      })),
    ]);
    for (const r of puts) expect(r.status).toBe(200);
    serverKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key;
    clientKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'web' })).body.key;
    gw = await startGateway(h);
  });

  afterAll(async () => {
    for (const c of open) c.close();
    await ServerOpenFeature.close();
    await WebOpenFeature.close();
    for (const es of FetchEventSource.opened) es.close();
    (globalThis as { EventSource?: unknown }).EventSource = realEventSource;
    await gw.close();
    await h.close();
  });

  describe('server provider (@openfeature/ofrep-provider 0.1.3)', () => {
    const sent: Sent[] = [];
    let client: ServerClient;

    beforeAll(async () => {
      await ServerOpenFeature.setProviderAndWait(
        new OFREPProvider({ baseUrl: gw.url, headers: [['Authorization', `Bearer ${serverKey}`]], fetchImplementation: recordingFetch(sent) }),
      );
      client = ServerOpenFeature.getClient();
    });

    it('sends one POST per evaluation, with the bearer and the whole context', async () => {
      const details = await client.getBooleanDetails('checkout', false, { targetingKey: 'u1', country: 'de' });
      expect(details).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH', flagMetadata: { ruleId: 'de' } });
      expect(details.errorCode).toBeUndefined();
      const last = sent.at(-1)!;
      expect([last.method, last.url, last.status]).toEqual(['POST', `${gw.url}/ofrep/v1/evaluate/flags/checkout`, 200]);
      expect(last.headers).toMatchObject({ authorization: `Bearer ${serverKey}`, 'content-type': 'application/json; charset=utf-8' });
      expect(JSON.parse(last.body)).toEqual({ context: { targetingKey: 'u1', country: 'de' } });
    });

    it('resolves rules, default serves, static flags and disabled flags of every type', async () => {
      const ctx = { targetingKey: 'u1' };
      expect(await client.getBooleanDetails('checkout', true, { ...ctx, country: 'fr' })).toMatchObject({ value: false, variant: 'off', reason: 'DEFAULT' });
      expect(await client.getStringDetails('banner', 'none', { ...ctx, plan: 'premium' })).toMatchObject({ value: 'gold', variant: 'gold', reason: 'TARGETING_MATCH', flagMetadata: { ruleId: 'premium' } });
      expect(await client.getStringValue('banner', 'none', { ...ctx, plan: 'free' })).toBe('blue');
      expect(await client.getNumberDetails('limit', 0, ctx)).toMatchObject({ value: 100, variant: 'large', reason: 'STATIC' });
      expect(await client.getNumberValue('limit', 0, ctx)).toBe(100);
      expect(await client.getBooleanDetails('legacy', true, ctx)).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });
      expect(await client.getObjectValue('theme', {}, ctx)).toEqual(expect.objectContaining({ mode: expect.stringMatching(/^(dark|light)$/) }));
    });

    it('splits a rollout by targetingKey, deterministically', async () => {
      const seen = new Map<string, string>();
      for (let i = 0; i < 40; i++) {
        const d = await client.getObjectDetails('theme', {}, { targetingKey: `user-${i}` });
        expect(d.reason).toBe('SPLIT');
        expect(d.value).toEqual(d.variant === 'dark' ? DARK : LIGHT);
        seen.set(`user-${i}`, d.variant!);
      }
      expect(new Set(seen.values())).toEqual(new Set(['dark', 'light']));
      for (const [user, variant] of [...seen].slice(0, 5)) {
        expect((await client.getObjectDetails('theme', {}, { targetingKey: user })).variant).toBe(variant);
      }
    });

    it('maps OFREP errors to OpenFeature error codes and the default value', async () => {
      const unknown = await client.getBooleanDetails('nope', true, { targetingKey: 'u1' });
      expect(unknown).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
      expect(sent.at(-1)!.status).toBe(404);

      const noKey = await client.getObjectDetails('theme', { fallback: true }, { country: 'de' });
      expect(noKey).toMatchObject({ value: { fallback: true }, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' });
      expect(sent.at(-1)!.status).toBe(400);

      // The gateway answers 200 with a boolean; the provider compares typeof with the default.
      const wrongType = await client.getStringDetails('checkout', 'x', { targetingKey: 'u1', country: 'de' });
      expect(wrongType).toMatchObject({ value: 'x', reason: 'ERROR', errorCode: 'TYPE_MISMATCH' });
      expect(sent.at(-1)!.status).toBe(200);
      expect((await client.getNumberDetails('theme', 7, { targetingKey: 'u1' })).errorCode).toBe('TYPE_MISMATCH');
    });

    it('turns 401 into a GENERAL error and never throws at the caller', async () => {
      await ServerOpenFeature.setProviderAndWait('bad-key', new OFREPProvider({ baseUrl: gw.url, headers: { 'X-API-Key': 'fs_server_nope' } }));
      const d = await ServerOpenFeature.getClient('bad-key').getBooleanDetails('checkout', true, { targetingKey: 'u1' });
      // OFREPApiUnauthorizedError carries no message: the caller sees GENERAL and an empty message.
      expect(d).toMatchObject({ value: true, reason: 'ERROR', errorCode: 'GENERAL' });
    });
  });

  describe('web provider (@openfeature/ofrep-web-provider 0.4.3, static context)', () => {
    const sent: Sent[] = [];
    const changes: Array<string[] | undefined> = [];
    let client: WebClient;
    let stream: FetchEventSource;

    beforeAll(async () => {
      await WebOpenFeature.setContext({ targetingKey: 'u1', country: 'de' });
      await WebOpenFeature.setProviderAndWait(
        new OFREPWebProvider({ baseUrl: gw.url, headers: [['Authorization', `Bearer ${clientKey}`]], cacheMode: 'disabled', fetchImplementation: recordingFetch(sent) }),
      );
      client = WebOpenFeature.getClient();
      client.addHandler(ProviderEvents.ConfigurationChanged, (d) => changes.push(d?.flagsChanged));
    });

    it('evaluates everything in one bulk request and follows the advertised event stream', async () => {
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ method: 'POST', url: `${gw.url}/ofrep/v1/evaluate/flags`, status: 200 });
      expect(sent[0]!.headers['if-none-match']).toBeUndefined();
      expect(JSON.parse(sent[0]!.body)).toEqual({ context: { targetingKey: 'u1', country: 'de' } });

      // No auth header can be set on an EventSource: the key travels in the advertised URL.
      expect(FetchEventSource.opened.map((es) => es.url)).toEqual([`${gw.url}/ofrep/v1/events?key=${encodeURIComponent(clientKey)}`]);
      stream = FetchEventSource.opened[0]!;
      await eventually(async () => stream.readyState === FetchEventSource.OPEN);
    });

    it('serves client-visible flags from its cache, and nothing server-only', () => {
      expect(client.getBooleanDetails('checkout', false)).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH', flagMetadata: { ruleId: 'de' } });
      expect(client.getNumberDetails('limit', 0)).toMatchObject({ value: 100, variant: 'large', reason: 'STATIC' });
      expect(client.getObjectDetails('theme', {})).toMatchObject({ reason: 'SPLIT', variant: expect.stringMatching(/^(dark|light)$/) });
      for (const key of ['banner', 'legacy']) {
        expect(client.getStringDetails(key, 'none')).toMatchObject({ value: 'none', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' });
      }
      expect(client.getStringDetails('limit', 'x')).toMatchObject({ value: 'x', errorCode: 'TYPE_MISMATCH' });
    });

    it('re-fetches on refetchEvaluation, with If-None-Match and flagConfigLastModified, and reports the changed flag', async () => {
      const firstEtag = sent.at(-1)!.etag;
      expect(firstEtag).toBeTruthy();
      const before = sent.length;
      await toggle('checkout', false);
      await eventually(async () => changes.some((c) => c?.includes('checkout')));
      expect(client.getBooleanDetails('checkout', true)).toMatchObject({ value: false, variant: 'off', reason: 'DISABLED' });

      const refetch = sent.slice(before);
      expect(refetch).toHaveLength(1);
      expect(refetch[0]).toMatchObject({ method: 'POST', status: 200 });
      expect(refetch[0]!.headers['if-none-match']).toBe(firstEtag);
      expect(new URL(refetch[0]!.url).searchParams.get('flagConfigLastModified')).toMatch(/^\d+$/);
      expect(changes.at(-1)).toEqual(['checkout']);

      await toggle('checkout', true);
      await eventually(async () => client.getBooleanValue('checkout', false));
    });

    it('hears of server-only changes (the revision moves) but reports no client flag changed', async () => {
      const before = sent.length;
      const changesBefore = changes.length;
      await toggle('legacy', true);
      await eventually(async () => sent.length > before && changes.length > changesBefore);
      // The ETag is per revision, so this refetch is a full 200 even though nothing visible changed.
      expect(sent.at(-1)!.status).toBe(200);
      expect(changes.at(-1)).toEqual([]);
      const settled = sent.length;
      await toggle('legacy', false);
      await eventually(async () => sent.length > settled);
    });

    it('polls with If-None-Match and gets 304 when nothing changed (changeDetection: polling)', async () => {
      const polled: Sent[] = [];
      const polledChanges: Array<string[] | undefined> = [];
      await WebOpenFeature.setProviderAndWait(
        'polling',
        new OFREPWebProvider({
          baseUrl: gw.url,
          headers: [['X-API-Key', clientKey]],
          cacheMode: 'disabled',
          changeDetection: 'polling',
          pollInterval: 150,
          fetchImplementation: recordingFetch(polled),
        }),
      );
      const pc = WebOpenFeature.getClient('polling');
      // Not pc.addHandler: @openfeature/core 1.x builds a domain's client emitter inside
      // setProvider*(domain) before binding the domain, so that emitter also relays the default
      // provider's events (here: the SSE provider's ConfigurationChanged).
      WebOpenFeature.addHandler(ProviderEvents.ConfigurationChanged, (d) => {
        if (d?.domain === 'polling') polledChanges.push(d.flagsChanged as string[] | undefined);
      });
      await eventually(async () => polled.length >= 3);
      const [first, ...polls] = polled;
      expect(first!.headers['if-none-match']).toBeUndefined();
      for (const p of polls) expect([p.headers['if-none-match'], p.status, p.body]).toEqual([first!.etag, 304, first!.body]);

      await toggle('limit', false);
      await eventually(async () => polledChanges.some((c) => c?.includes('limit')));
      expect(pc.getNumberDetails('limit', 0)).toMatchObject({ value: 10, variant: 'small', reason: 'DISABLED' });
      await toggle('limit', true);
      await eventually(async () => pc.getNumberValue('limit', 0) === 100);
      await WebOpenFeature.clearProviders();
      expect(FetchEventSource.opened).toHaveLength(1);
    });

    it('fails to initialise (FATAL) with an unknown key', async () => {
      await expect(
        WebOpenFeature.setProviderAndWait('bad-key', new OFREPWebProvider({ baseUrl: gw.url, headers: [['Authorization', 'Bearer fs_client_nope']], cacheMode: 'disabled' })),
      ).rejects.toThrow();
      const c = WebOpenFeature.getClient('bad-key');
      expect(c.providerStatus).toBe(ProviderStatus.FATAL);
      expect(c.getBooleanDetails('checkout', true)).toMatchObject({ value: true, errorCode: 'PROVIDER_FATAL' });
    });
  });

  describe('raw HTTP', () => {
    const ctx = { context: { targetingKey: 'u1', country: 'de' } };

    it('answers the bulk request with flags, metadata, eventStreams and an ETag; If-None-Match gives 304 with no body', async () => {
      const res = await post('evaluate/flags', ctx, bearer(serverKey));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^"[^"]+"$/);
      const body = (await res.json()) as { flags: Array<Record<string, unknown>>; metadata: Record<string, unknown>; eventStreams: unknown[] };
      expect(Object.keys(body).sort()).toEqual(['eventStreams', 'flags', 'metadata']);
      expect(body.flags.map((f) => f.key)).toEqual(['banner', 'checkout', 'legacy', 'limit', 'theme']);
      for (const f of body.flags) {
        if ('errorCode' in f) continue;
        expect(OFREP_REASONS).toContain(f.reason);
        expect(typeof f.variant).toBe('string');
        for (const v of Object.values(f.metadata as object)) expect(['string', 'number', 'boolean']).toContain(typeof v);
      }
      for (const v of Object.values(body.metadata)) expect(['string', 'number', 'boolean']).toContain(typeof v);
      expect(body.eventStreams).toEqual([{ type: 'sse', url: `${gw.url}/ofrep/v1/events?key=${encodeURIComponent(serverKey)}`, inactivityDelaySec: 120 }]);

      const same = await post('evaluate/flags', ctx, { ...bearer(serverKey), 'If-None-Match': etag });
      expect(same.status).toBe(304);
      expect(await same.text()).toBe('');
      expect(same.headers.get('etag')).toBe(etag);

      // Another context is another representation.
      const other = await post('evaluate/flags', { context: { targetingKey: 'u2' } }, { ...bearer(serverKey), 'If-None-Match': etag });
      expect(other.status).toBe(200);
      expect(other.headers.get('etag')).not.toBe(etag);

      // A flag changes: the old ETag no longer matches.
      await toggle('banner', false);
      const changed = await eventually(async () => {
        const r = await post('evaluate/flags', ctx, { ...bearer(serverKey), 'If-None-Match': etag });
        return r.status === 200 ? r : undefined;
      });
      expect(changed.headers.get('etag')).not.toBe(etag);
      const banner = ((await changed.json()) as { flags: Array<{ key: string; reason?: string }> }).flags.find((f) => f.key === 'banner');
      expect(banner?.reason).toBe('DISABLED');
      await toggle('banner', true);
    });

    // RFC 9110 §13.1.2: If-None-Match is a list of entity tags compared weakly. A proxy that
    // compresses (nginx gzip) turns `"x"` into `W/"x"`; clients behind it must still get 304s.
    it('matches If-None-Match weakly and as a list (RFC 9110)', async () => {
      // Retried as a whole: a change the gateway applies in between moves the ETag, rightly.
      const results = await eventually(async () => {
        const etag = (await post('evaluate/flags', ctx, bearer(serverKey))).headers.get('etag')!;
        const out: Array<[string, number]> = [];
        for (const inm of [`W/${etag}`, `"nope", ${etag}`, `"nope",${etag}`]) {
          out.push([inm.replace(etag, 'ETAG'), (await post('evaluate/flags', ctx, { ...bearer(serverKey), 'If-None-Match': inm })).status]);
        }
        return out.every(([, status]) => status === 304) ? out : undefined;
      });
      expect(results).toEqual([['W/ETAG', 304], ['"nope", ETAG', 304], ['"nope",ETAG', 304]]);
    });

    it('refuses a missing or non-object context with 400 INVALID_CONTEXT', async () => {
      for (const body of [{}, { context: null }, { context: 'u1' }, { context: [1] }, { ctx: {} }]) {
        const one = await post('evaluate/flags/checkout', body, bearer(serverKey));
        expect(one.status).toBe(400);
        expect(await one.json()).toEqual({ key: 'checkout', errorCode: 'INVALID_CONTEXT', errorDetails: expect.any(String) });
        const bulk = await post('evaluate/flags', body, bearer(serverKey));
        expect(bulk.status).toBe(400);
        expect(await bulk.json()).toEqual({ errorCode: 'INVALID_CONTEXT', errorDetails: expect.any(String) });
      }
    });

    // A body that is not JSON is refused before the controller runs (the shared body-parser
    // middleware); on OFREP routes it is still rendered in OFREP's shape, so providers can read it.
    it('answers an unparsable body in OFREP shape (400 PARSE_ERROR / INVALID_CONTEXT)', async () => {
      const one = await post('evaluate/flags/checkout', '{"context": ', bearer(serverKey));
      expect(one.status).toBe(400);
      expect(await one.json()).toMatchObject({ key: 'checkout', errorCode: expect.stringMatching(/^(PARSE_ERROR|INVALID_CONTEXT)$/) });
    });

    it('answers 400 with the flag key for TARGETING_KEY_MISSING', async () => {
      const res = await post('evaluate/flags/theme', { context: { country: 'de' } }, bearer(serverKey));
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ key: 'theme', errorCode: 'TARGETING_KEY_MISSING', errorDetails: expect.any(String) });
    });

    it('answers 404 FLAG_NOT_FOUND as {key, errorCode, errorDetails}', async () => {
      const res = await post('evaluate/flags/nope', ctx, bearer(serverKey));
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ key: 'nope', errorCode: 'FLAG_NOT_FOUND', errorDetails: expect.any(String) });
    });

    it('answers 401 without a known key, and takes Authorization: Bearer or X-API-Key', async () => {
      const bad: Array<Record<string, string>> = [{}, { Authorization: 'Bearer fs_server_nope' }, { 'X-API-Key': 'fs_server_nope' }, { Authorization: 'Basic dXNlcjpwdw==' }];
      for (const headers of bad) {
        expect((await post('evaluate/flags/checkout', ctx, headers)).status).toBe(401);
        expect((await post('evaluate/flags', ctx, headers)).status).toBe(401);
      }
      for (const headers of [bearer(serverKey), { Authorization: `bearer ${serverKey}` }, { 'X-API-Key': serverKey }, { 'X-API-Key': clientKey }]) {
        const res = await post('evaluate/flags/checkout', ctx, headers);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ key: 'checkout', value: true, variant: 'on', reason: 'TARGETING_MATCH', metadata: { ruleId: 'de' } });
      }
      expect((await fetch(`${gw.url}/ofrep/v1/events?key=fs_client_nope`)).status).toBe(401);
    });

    it('shows a client key client-visible flags only, and no rules anywhere', async () => {
      const res = await post('evaluate/flags', ctx, bearer(clientKey));
      const text = await res.text();
      const body = JSON.parse(text) as { flags: Array<{ key: string }> };
      expect(body.flags.map((f) => f.key)).toEqual(['checkout', 'limit', 'theme']);
      for (const word of ['clauses', 'rules', 'salt', 'offVariation', 'defaultServe', 'rollout', 'weight', 'banner', 'legacy', 'premium']) expect(text).not.toContain(word);
      for (const key of ['banner', 'legacy']) {
        const one = await post(`evaluate/flags/${key}`, ctx, bearer(clientKey));
        expect(one.status).toBe(404);
        expect(await one.json()).toEqual({ key, errorCode: 'FLAG_NOT_FOUND', errorDetails: expect.any(String) });
      }
    });

    it('sends `event: message` {"type":"refetchEvaluation"} on the advertised stream after every change', async () => {
      const advertised = ((await (await post('evaluate/flags', ctx, bearer(clientKey))).json()) as { eventStreams: Array<{ url: string }> }).eventStreams[0]!.url;
      const byQuery = await sse(advertised);
      const byHeader = await sse(`${gw.url}/ofrep/v1/events`, bearer(serverKey));
      for (const c of [byQuery, byHeader]) {
        expect(c.status).toBe(200);
        expect(c.headers.get('content-type')).toMatch(/^text\/event-stream/);
      }
      const rev = await revision();
      const at = Date.now() / 1000;
      await toggle('banner', false);
      for (const c of [byQuery, byHeader]) {
        const e = await c.next();
        expect(e.event).toBe('message');
        expect(e.id).toBe(String(rev + 1));
        const data = JSON.parse(e.data) as { type: string; lastModified?: number };
        expect(data.type).toBe('refetchEvaluation');
        expect(Math.abs(data.lastModified! - at)).toBeLessThan(5);
      }
      // A client key's stream carries no flag data at all.
      expect(byQuery.events.every((e) => Object.keys(JSON.parse(e.data) as object).every((k) => ['type', 'lastModified', 'etag'].includes(k)))).toBe(true);
      await toggle('banner', true);
      await byQuery.next(() => true, 5000, 1);
    });

    // ADR-0008: "Servers that support replay should ... replay missed events when Last-Event-ID is
    // provided." The web provider 0.4.3 does not re-fetch after a reconnect, so without the replay
    // a change made while it reconnects would be lost until the next one.
    it('replays a refetchEvaluation to a stream resuming from an older Last-Event-ID', async () => {
      const rev = await revision();
      const resumed = await sse(`${gw.url}/ofrep/v1/events`, { ...bearer(clientKey), 'Last-Event-ID': String(rev - 1) });
      const e = await resumed.next(() => true, 1000);
      expect(JSON.parse(e.data)).toMatchObject({ type: 'refetchEvaluation' });
    });

    it('answers 429 with Retry-After past the per-key rate, and the server provider waits it out', async () => {
      const gw2 = await startGateway(h, { requestsPerSecondPerKey: 2 });
      try {
        const burst = await Promise.all(Array.from({ length: 6 }, () => post('evaluate/flags/checkout', ctx, bearer(serverKey), gw2.url)));
        const statuses = burst.map((r) => r.status);
        expect(statuses).toContain(200);
        expect(statuses).toContain(429);
        const limited = burst.find((r) => r.status === 429)!;
        expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(await limited.json()).toMatchObject({ errorCode: 'GENERAL' });
        expect((await post('evaluate/flags', ctx, bearer(serverKey), gw2.url)).status).toBe(429);

        const sent: Sent[] = [];
        await ServerOpenFeature.setProviderAndWait('limited', new OFREPProvider({ baseUrl: gw2.url, headers: bearer(serverKey), fetchImplementation: recordingFetch(sent) }));
        const c = ServerOpenFeature.getClient('limited');
        expect(await c.getBooleanDetails('checkout', false, ctx.context)).toMatchObject({ value: false, errorCode: 'GENERAL' });
        expect(sent.map((s) => s.status)).toEqual([429]);
        // Within Retry-After the provider does not even ask.
        expect((await c.getBooleanDetails('checkout', false, ctx.context)).errorMessage).toMatch(/paused/);
        expect(sent).toHaveLength(1);
        await new Promise((r) => setTimeout(r, Number(limited.headers.get('retry-after')) * 1000 + 50));
        expect(await c.getBooleanValue('checkout', false, ctx.context)).toBe(true);
        expect(sent.map((s) => s.status)).toEqual([429, 200]);
      } finally {
        await gw2.close();
      }
    });

    it('refuses an event stream over the per-key connection limit with 429, not a 200 that closes', async () => {
      const gw3 = await startGateway(h, { maxConnectionsPerKey: 1 });
      const key = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'limited-web' })).body.key as string;
      try {
        const first = await sse(`${gw3.url}/ofrep/v1/events?key=${key}`);
        expect(first.status).toBe(200);
        // node:http without an agent (Connection: close): a kept-alive fetch socket holds gw3.close() ~4 s.
        const second = await new Promise<number>((resolve, reject) =>
          get(`${gw3.url}/ofrep/v1/events?key=${key}`, { agent: false }, (r) => r.resume().on('end', () => resolve(r.statusCode!))).on('error', reject),
        );
        expect(second).toBe(429);
      } finally {
        await gw3.close();
      }
    });
  });
});
