import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FileSnapshotCache, FlagstreamClient, type FlagstreamClientOptions } from '@flagstream/sdk';
import { SocketIoTransport } from '@flagstream/sdk/socket-io';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';

const P = '/api/v1/projects/shop';

describe('SDK against the real gateway and admin API', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let serverKey: string;
  const clients: FlagstreamClient[] = [];

  beforeAll(async () => {
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    await api.post(`${P}/flags`, { key: 'checkout', kind: 'boolean' });
    await api.put(`${P}/flags/checkout/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1,
      rules: [{ id: 'de', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } }],
      defaultServe: { variation: 'off' },
    });
    serverKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key;
    gw = await startGateway(h);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await gw.close();
    await h.close();
  }, 30_000);

  function client(baseUrl = gw.url, sdkKey = serverKey, extra: Partial<FlagstreamClientOptions> = {}) {
    const c = new FlagstreamClient({ sdkKey, baseUrl, backoff: { initialMs: 20, maxMs: 200 }, ...extra });
    clients.push(c);
    return c;
  }

  function socketClient(sdkKey = serverKey) {
    return client(gw.url, sdkKey, { transport: new SocketIoTransport({ baseUrl: gw.url, sdkKey }) });
  }

  const de = { targetingKey: 'u1', country: 'de' };
  const on = { value: true, variation: 'on', reason: 'TARGETING_MATCH', ruleId: 'de' };
  const off = { value: false, variation: 'off', reason: 'DISABLED' };

  async function toggle(c: FlagstreamClient, value: boolean): Promise<void> {
    const changed = new Promise<string[]>((resolve) => c.on('change', resolve));
    const res = await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: value });
    expect(res.status).toBe(200);
    expect(await changed).toEqual(['checkout']);
  }

  it('evaluates locally after ready() and sees a kill switch within moments', async () => {
    const c = client();
    await c.ready();
    expect(c.booleanDetail('checkout', { targetingKey: 'u1', country: 'de' }, false)).toEqual({ value: true, variation: 'on', reason: 'TARGETING_MATCH', ruleId: 'de' });
    expect(c.boolean('checkout', { targetingKey: 'u1', country: 'fr' }, true)).toBe(false);
    const changed = new Promise<string[]>((resolve) => c.on('change', resolve));
    const at = Date.now();
    await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: false });
    expect(await changed).toEqual(['checkout']);
    expect(Date.now() - at).toBeLessThan(2000);
    expect(c.booleanDetail('checkout', { targetingKey: 'u1', country: 'de' }, true)).toEqual({ value: false, variation: 'off', reason: 'DISABLED' });
    // It acknowledged the revision: the admin API reports it.
    const revision = c.revision;
    const report = await eventually(async () => {
      const res = await api.get(`${P}/environments/staging/revisions/${revision}/propagation`);
      return res.status === 200 && res.body.acknowledged >= 1 ? res.body : undefined;
    });
    expect(report.connected).toBeGreaterThanOrEqual(1);
  });

  it('converges after the gateway dies, flags change, and a gateway comes back', async () => {
    const port = Number(new URL(gw.url).port);
    const c = client();
    await c.ready();
    await gw.close();
    for (const on of [true, false, true]) await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on });
    const final = (await api.get(`${P}/environments/staging`)).body.revision as number;
    expect(c.revision).toBeLessThan(final);
    gw = await startGateway(h, {}, { port });
    await eventually(async () => c.revision === final, 10_000);
    expect(c.boolean('checkout', { targetingKey: 'u1', country: 'de' }, false)).toBe(true);
  });

  it('stops with a clear error on a revoked key', async () => {
    const created = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'short' });
    await api.delete(`${P}/environments/staging/sdk-keys/${created.body.id}`);
    const c = client(gw.url, created.body.key);
    await expect(c.ready(3000)).rejects.toThrow('the gateway refused the SDK key (gateway answered 401: missing or invalid SDK key); not retrying');
    expect(c.boolean('checkout', {}, true)).toBe(true);
  });

  it('streams over socket.io: ready, a toggle reaches it, its acks are recorded, and a revoked key stops it', async () => {
    // Only this test's clients are connected from here, so the receipts below are theirs.
    for (const c of clients.splice(0)) await c.close();
    const c = socketClient();
    let connected = 0;
    c.on('connected', () => connected++);
    await c.ready();
    expect(connected).toBe(1);
    const was = c.boolean('checkout', de, false);
    await toggle(c, !was);
    expect(c.booleanDetail('checkout', de, was)).toEqual(was ? off : on);
    const revision = c.revision;
    const report = await eventually(async () => {
      const res = await api.get(`${P}/environments/staging/revisions/${revision}/propagation`);
      return res.status === 200 && res.body.acknowledged >= 1 ? res.body : undefined;
    });
    expect(report).toMatchObject({ revision, connected: 1, acknowledged: 1 });

    // A key revoked while its socket is open: the gateway drops the socket, and the reconnect is refused for good.
    const created = await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'revoked-live' });
    const doomed = socketClient(created.body.key);
    await doomed.ready();
    const lost: Array<Error | null> = [];
    doomed.on('disconnected', (e) => lost.push(e));
    const fatal = new Promise<Error>((resolve) => doomed.on('error', (e, isFatal) => isFatal && resolve(e)));
    await api.delete(`${P}/environments/staging/sdk-keys/${created.body.id}`);
    expect((await fatal).message).toBe('the gateway refused the SDK key (gateway answered 401: missing or invalid SDK key); not retrying');
    expect(lost).toEqual([null]);
    // It keeps serving its last state.
    expect(doomed.booleanDetail('checkout', de, was)).toEqual(was ? off : on);
  });

  it('starts offline from its file cache while the gateway is down, then converges when it comes back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flagstream-sdk-e2e-'));
    try {
      const file = join(dir, 'flags.json');
      const port = Number(new URL(gw.url).port);
      const first = client(gw.url, serverKey, { cache: new FileSnapshotCache(file), cacheSaveIntervalMs: 60_000 });
      await first.ready();
      // A patch after the snapshot: the cache must hold the state after it (saved on close).
      const was = first.boolean('checkout', de, false);
      await toggle(first, !was);
      const cachedRevision = first.revision;
      await first.close();
      await gw.close();

      const errors: string[] = [];
      const offline = client(gw.url, serverKey, { cache: new FileSnapshotCache(file), cacheSaveIntervalMs: 50 });
      offline.on('error', (e) => errors.push(e.message));
      await offline.ready(1000);
      expect(offline.revision).toBe(cachedRevision);
      expect(offline.booleanDetail('checkout', de, was)).toEqual(was ? off : on);
      await eventually(async () => errors.length > 0);

      // Changes made while the gateway is down reach the client once a gateway is back on the address.
      await api.post(`${P}/flags/checkout/environments/staging/toggle`, { on: was });
      await api.post(`${P}/flags`, { key: 'banner', kind: 'string', variations: [{ key: 'a', value: 'hello' }] });
      const final = (await api.get(`${P}/environments/staging`)).body.revision as number;
      expect(final).toBeGreaterThan(cachedRevision);
      gw = await startGateway(h, {}, { port });
      await eventually(async () => offline.revision === final, 10_000);
      expect(offline.booleanDetail('checkout', de, !was)).toEqual(was ? on : off);
      expect(offline.stringDetail('banner', de, 'x')).toEqual({ value: 'hello', variation: 'a', reason: 'DISABLED' });
      // The cache follows the patches.
      const saved = await eventually(async () => {
        const s = await new FileSnapshotCache(file).load();
        return s?.revision === final ? s : undefined;
      });
      expect(saved.flags.map((f) => f.key)).toEqual(['banner', 'checkout']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('lets a process exit by itself after close(), over SSE and socket.io, with a file cache and exposures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flagstream-sdk-exit-'));
    try {
      const out = await runChild(CHILD_SCRIPT, { ROOT: resolve(__dirname, '..'), BASE_URL: gw.url, SDK_KEY: serverKey, CACHE_FILE: join(dir, 'flags.json') }, 30_000);
      expect(out.stderr).toBe('');
      expect(out.stdout.trim().split('\n')).toEqual(['sse ready', 'sse closed', 'socket.io ready', 'socket.io closed']);
      // Once the clients were closed, nothing kept the event loop alive.
      expect(out.code).toBe(0);
      expect(out.exitAfterCloseMs).toBeLessThan(3000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

/**
 * Run by a plain `node` child: loads the TypeScript sources through a tiny transpiling require
 * hook (no ts-node here) and the tsconfig path aliases, uses the SDK as a service would, closes it,
 * and must then exit on its own.
 */
const CHILD_SCRIPT = `
const fs = require('node:fs');
const ts = require('typescript');
require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, { fileName: filename, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
  module._compile(out.outputText, filename);
};
const root = process.env.ROOT;
require('tsconfig-paths').register({ baseUrl: root, paths: JSON.parse(fs.readFileSync(root + '/tsconfig.json', 'utf8')).compilerOptions.paths });
const { FlagstreamClient, FileSnapshotCache } = require('@flagstream/sdk');
const { SocketIoTransport } = require('@flagstream/sdk/socket-io');
(async () => {
  const baseUrl = process.env.BASE_URL;
  const sdkKey = process.env.SDK_KEY;
  for (const kind of ['sse', 'socket.io']) {
    const client = new FlagstreamClient({
      baseUrl,
      sdkKey,
      cache: new FileSnapshotCache(process.env.CACHE_FILE),
      exposures: { send: () => undefined },
      transport: kind === 'socket.io' ? new SocketIoTransport({ baseUrl, sdkKey }) : undefined,
    });
    await client.ready(5000);
    client.boolean('checkout', { targetingKey: 'u1' }, false);
    console.log(kind + ' ready');
    await client.close();
    console.log(kind + ' closed');
  }
})().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
`;

async function runChild(script: string, env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; exitAfterCloseMs: number }> {
  const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let closedAt = 0;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('socket.io closed')) closedAt ||= Date.now();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return { code, stdout, stderr, exitAfterCloseMs: closedAt ? Date.now() - closedAt : Infinity };
  } finally {
    clearTimeout(killer);
  }
}
