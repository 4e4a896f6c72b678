import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { createProject, eventually, startAdmin, type AdminHarness, type ApiClient } from './support/admin-harness';
import { launchChromium, servePages, type HeadlessBrowser, type PageServer } from './support/browser-harness';
import { startGateway, type GatewayHarness } from './support/gateway-harness';
import { REPO_DIR, createScratchProject, packSdk, run, type ScratchProject } from './support/sdk-package-harness';

// The published package as users get it: `npm pack`, installed into a project of its own, used
// from Node (CJS and ESM), type-checked, and its browser build run in headless Chromium, all
// against the real admin API and gateway.

jest.setTimeout(60_000);

const P = '/api/v1/projects/shop';
const CLIENT_BUDGET = 15 * 1024;

interface SizeRow {
  entry: string;
  gzipBytes: number;
  budgetBytes?: number;
  withinBudget?: boolean;
  external: string[];
}

describe('@flagstream/sdk as a packed npm package', () => {
  let h: AdminHarness;
  let api: ApiClient;
  let gw: GatewayHarness;
  let gatewayUp = false;
  let serverKey: string;
  let clientKey: string;
  let tarball: string;
  let scratch: ScratchProject;

  beforeAll(async () => {
    // Build and pack (the slow part) while the admin API and gateway start.
    const packed = packSdk();
    packed.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    h = await startAdmin();
    api = h.api(h.ownerToken);
    await createProject(h, 'shop');
    // `checkout` targets Germany; `banner` is off (serving `off`), and serves `on` once turned on.
    await api.post(`${P}/flags`, { key: 'checkout', kind: 'boolean', clientVisible: true });
    const checkout = await api.put(`${P}/flags/checkout/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1,
      rules: [{ id: 'de', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } }],
      defaultServe: { variation: 'off' },
    });
    expect(checkout.status).toBe(200);
    await api.post(`${P}/flags`, { key: 'banner', kind: 'boolean', clientVisible: true });
    const banner = await api.put(`${P}/flags/banner/environments/staging`, {
      on: false, offVariation: 'off', prerequisites: [], version: 1, rules: [], defaultServe: { variation: 'on' },
    });
    expect(banner.status).toBe(200);
    serverKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'server', name: 'svc' })).body.key;
    clientKey = (await api.post(`${P}/environments/staging/sdk-keys`, { kind: 'client', name: 'web' })).body.key;
    expect(clientKey).toMatch(/^fs_client_/);
    gw = await startGateway(h);
    gatewayUp = true;
    tarball = await packed;
    scratch = await createScratchProject(tarball);
  }, 110_000);

  afterAll(async () => {
    await scratch?.remove();
    if (gatewayUp) await gw.close();
    await h?.close();
  });

  it('packs a package with no runtime dependencies, optional peers and no server-side code', async () => {
    expect(path.basename(tarball)).toBe('flagstream-sdk-0.1.0.tgz');
    const pkg = JSON.parse(await readFile(path.join(scratch.packageDir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('@flagstream/sdk');
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.sideEffects).toBe(false);
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@openfeature/core', '@openfeature/server-sdk', '@openfeature/web-sdk', 'socket.io-client']);
    for (const peer of Object.keys(pkg.peerDependencies)) expect(pkg.peerDependenciesMeta[peer]).toEqual({ optional: true });
    expect(pkg.exports['.']).toEqual({
      import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
      require: { types: './dist/index.d.ts', default: './dist/index.js' },
    });
    expect(Object.keys(pkg.exports)).toEqual(['.', './client', './openfeature', './openfeature-web', './socket-io', './browser', './package.json']);

    // Everything the package's code imports is its own file, a peer or a node: built-in.
    const files = (await readdir(path.join(scratch.packageDir, 'dist'), { recursive: true })).filter((f) => /\.m?js$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.mjs', 'client/index.js', 'client/index.mjs', 'browser/flagstream-client.min.js']));
    const code = (await Promise.all(files.map((f) => readFile(path.join(scratch.packageDir, 'dist', f), 'utf8')))).join('\n');
    const specifiers = new Set([...code.matchAll(/(?:^(?:import|export)\b[^;]*?\bfrom\s*|\brequire\s*\(\s*|\bimport\s*\(\s*)["']([^"'.][^"']*)["']/gm)].map((m) => m[1]));
    const allowed = new Set(['@openfeature/server-sdk', '@openfeature/web-sdk', '@openfeature/core', 'socket.io-client']);
    expect([...specifiers].filter((s) => !allowed.has(s) && !s.startsWith('node:'))).toEqual([]);
    expect(code).not.toMatch(/@nestjs|typeorm|ioredis|\bpino\b|@flagstream\/(protocol|targeting)/);
    // The engine is bundled; ajv (the protocol's schema validator) is not needed and left out.
    expect(code).toContain('murmur');
    expect(code).not.toMatch(/\bajv\b/);
  });

  it('installs the `flagstream` bin, which runs a command with the key from the environment (docs/cli.md)', async () => {
    const pkg = JSON.parse(await readFile(path.join(scratch.packageDir, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ flagstream: './dist/cli/flagstream.js' });
    const bin = path.join(scratch.dir, 'node_modules/.bin/flagstream');
    expect((await readFile(bin, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    // Run as an executable (shebang and mode), as npx and npm scripts do.
    const env = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, FLAGSTREAM_SDK_KEY: serverKey, FLAGSTREAM_GATEWAY_URL: gw.url };
    const r = await run(bin, ['run', '--', process.execPath, '-e', "process.exit('FLAGSTREAM_SDK_KEY' in process.env ? 9 : 3)"], { cwd: scratch.dir, env, timeoutMs: 20_000 });
    expect(r).toEqual({
      code: 3,
      stdout: '',
      stderr: 'flagstream run: this SDK key reads no secrets: no secret policy grants it a path in its environment (docs/secrets.md); starting the command without any\n',
    });
    const usage = await run(bin, ['run'], { cwd: scratch.dir, env });
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(usage.stderr).toMatch(/^flagstream run: no command: put it after "--"/);
  });

  const serverScript = (kind: 'cjs' | 'esm') => `
${kind === 'cjs' ? "const { FlagstreamClient } = require('@flagstream/sdk');\nconst resolved = require.resolve('@flagstream/sdk');" : "import { FlagstreamClient } from '@flagstream/sdk';\nconst resolved = import.meta.resolve('@flagstream/sdk');"}
const client = new FlagstreamClient({ sdkKey: process.env.SDK_KEY, baseUrl: process.env.GATEWAY_URL });
client.ready(10000).then(async () => {
  const de = client.booleanDetail('checkout', { targetingKey: 'u1', country: 'de' }, false);
  const fr = client.boolean('checkout', { targetingKey: 'u1', country: 'fr' }, true);
  await client.close();
  console.log(JSON.stringify({ resolved, de, fr }));
}, async (err) => {
  console.error(err);
  process.exitCode = 1;
  await client.close();
});
`;

  it.each([
    ['CJS', 'server.cjs', 'cjs', 'dist/index.js'],
    ['ESM', 'server.mjs', 'esm', 'dist/index.mjs'],
  ] as const)('%s: evaluates locally from the installed package and exits after close()', async (_label, file, kind, entry) => {
    await scratch.write(file, serverScript(kind));
    const r = await scratch.node(file, { SDK_KEY: serverKey, GATEWAY_URL: gw.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.resolved.replace(/^file:\/\//, '')).toBe(path.join(scratch.packageDir, entry));
    expect(out.de).toEqual({ value: true, variation: 'on', reason: 'TARGETING_MATCH', ruleId: 'de' });
    expect(out.fr).toBe(false);
  });

  it('client mode (@flagstream/sdk/client) gets evaluated values from Node', async () => {
    await scratch.write('client.cjs', `
const { FlagstreamBrowserClient } = require('@flagstream/sdk/client');
const client = new FlagstreamBrowserClient({ sdkKey: process.env.SDK_KEY, baseUrl: process.env.GATEWAY_URL, context: { targetingKey: 'u1', country: 'de' }, storage: null });
client.ready(10000).then(async () => {
  const out = { checkout: client.booleanDetail('checkout', false), banner: client.boolean('banner', true), resolved: require.resolve('@flagstream/sdk/client') };
  await client.close();
  console.log(JSON.stringify(out));
}, async (err) => { console.error(err); process.exitCode = 1; await client.close(); });
`);
    const r = await scratch.node('client.cjs', { SDK_KEY: clientKey, GATEWAY_URL: gw.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.resolved).toBe(path.join(scratch.packageDir, 'dist/client/index.js'));
    expect(out.checkout).toMatchObject({ value: true, variation: 'on', reason: 'TARGETING_MATCH' });
    expect(out.banner).toBe(false);
  });

  it('the OpenFeature provider works with the optional peer installed beside it', async () => {
    await scratch.write('openfeature.mjs', `
import { OpenFeature } from '@openfeature/server-sdk';
import { FlagstreamProvider } from '@flagstream/sdk/openfeature';
try {
  await OpenFeature.setProviderAndWait(new FlagstreamProvider({ sdkKey: process.env.SDK_KEY, baseUrl: process.env.GATEWAY_URL }));
  const details = await OpenFeature.getClient().getBooleanDetails('checkout', false, { targetingKey: 'u1', country: 'de' });
  console.log(JSON.stringify({ value: details.value, variant: details.variant, reason: details.reason }));
} finally {
  await OpenFeature.close();
}
`);
    const r = await scratch.node('openfeature.mjs', { SDK_KEY: serverKey, GATEWAY_URL: gw.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ value: true, variant: 'on', reason: 'TARGETING_MATCH' });
  });

  it('the socket.io transport works with the optional peer installed beside it', async () => {
    await scratch.write('socket-io.mjs', `
import { FlagstreamClient } from '@flagstream/sdk';
import { SocketIoTransport } from '@flagstream/sdk/socket-io';
const options = { sdkKey: process.env.SDK_KEY, baseUrl: process.env.GATEWAY_URL };
const client = new FlagstreamClient({ ...options, transport: new SocketIoTransport(options) });
try {
  await client.ready(10000);
  console.log(JSON.stringify(client.booleanDetail('checkout', { targetingKey: 'u1', country: 'de' }, false)));
} finally {
  await client.close();
}
`);
    const r = await scratch.node('socket-io.mjs', { SDK_KEY: serverKey, GATEWAY_URL: gw.url });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ value: true, variation: 'on', reason: 'TARGETING_MATCH', ruleId: 'de' });
  });

  it("type-checks consumers against the package's declarations (node16 ESM and CJS, bundler, node10)", async () => {
    const pkg = JSON.parse(await readFile(path.join(scratch.packageDir, 'package.json'), 'utf8'));
    // One import per extra entry point the package has (they are checked with skipLibCheck off).
    const extras = ['openfeature', 'openfeature-web', 'socket-io'].filter((e) => pkg.exports[`./${e}`]);
    const serverConsumer = `
import { FlagstreamClient, FlagstreamAuthError, type EvaluationDetail } from '@flagstream/sdk';
import { FlagstreamBrowserClient } from '@flagstream/sdk/client';
${extras.map((e, i) => `import * as extra${i} from '@flagstream/sdk/${e}';`).join('\n')}

const server = new FlagstreamClient({ sdkKey: 'fs_server_x', baseUrl: 'http://localhost:4001' });
const detail: EvaluationDetail<boolean> = server.booleanDetail('f', { targetingKey: 'u1' }, false);
const count: number = server.number('n', { targetingKey: 'u1' }, 1);
// @ts-expect-error the default must have the getter's type (fails as unused if the types were any)
server.boolean('f', {}, 'yes');
const browser = new FlagstreamBrowserClient({ sdkKey: 'fs_client_x', baseUrl: 'http://localhost:4001', context: { targetingKey: 'u1' } });
const text: string = browser.string('s', 'default');
browser.on('change', (keys: string[]) => keys.length);
export const used = [detail, count, text, FlagstreamAuthError, ${extras.map((_e, i) => `extra${i}`).join(', ')}];
`;
    await scratch.write('consumer.mts', serverConsumer);
    await scratch.write('consumer.cts', serverConsumer);
    await scratch.write('consumer-node10.ts', serverConsumer);
    // A browser app: DOM types only, no @types/node.
    await scratch.write('consumer-browser.ts', `
import { FlagstreamBrowserClient, type EvaluationDetail } from '@flagstream/sdk/client';
const client = new FlagstreamBrowserClient({ sdkKey: 'fs_client_x', baseUrl: location.origin, context: { targetingKey: 'u1' }, storage: localStorage });
const on: boolean = client.boolean('banner', false);
const detail: EvaluationDetail<number> = client.numberDetail('limit', 10);
// @ts-expect-error the default must have the getter's type
client.number('limit', 'ten');
client.on('change', (keys) => console.log(keys.join(), on, detail.value));
void client.ready(2000).then(() => client.close());
export {};
`);
    // skipLibCheck off: the package's declarations are checked too (an unresolved import in them
    // is an error, not a silent `any`); TypeScript's own lib files are skipped to save time.
    const strict = { strict: true, noEmit: true, skipLibCheck: false, skipDefaultLibCheck: true, target: 'ES2022' };
    const configs = {
      'tsconfig.node16.json': { compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16', types: ['node'] }, files: ['consumer.mts', 'consumer.cts'] },
      'tsconfig.bundler.json': { compilerOptions: { ...strict, module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] }, files: ['consumer-browser.ts'] },
      // Old resolution (no `exports`): subpaths resolve through `typesVersions`. Declarations are
      // already checked above, so only the consumer is.
      'tsconfig.node10.json': { compilerOptions: { ...strict, skipLibCheck: true, module: 'commonjs', moduleResolution: 'node10', types: ['node'] }, files: ['consumer-node10.ts'] },
    };
    for (const [file, config] of Object.entries(configs)) await scratch.write(file, JSON.stringify(config));
    const tsc = path.join(REPO_DIR, 'node_modules/typescript/bin/tsc');
    const results = await Promise.all(Object.keys(configs).map((file) => run(process.execPath, [tsc, '-p', file], { cwd: scratch.dir, timeoutMs: 80_000 })));
    results.forEach((r, i) => expect({ config: Object.keys(configs)[i], code: r.code, out: r.stdout + r.stderr }).toEqual({ config: Object.keys(configs)[i], code: 0, out: '' }));

    // And a broken consumer fails: the check can fail.
    await scratch.write('consumer-node10.ts', `import { FlagstreamClient } from '@flagstream/sdk';\nexport const n: number = new FlagstreamClient({ sdkKey: 'k', baseUrl: 'u' }).boolean('f', {}, false);\n`);
    const broken = await run(process.execPath, [tsc, '-p', 'tsconfig.node10.json'], { cwd: scratch.dir, timeoutMs: 60_000 });
    expect(broken.code).not.toBe(0);
    expect(broken.stdout).toContain("Type 'boolean' is not assignable to type 'number'");
  }, 100_000);

  it('runs examples/node-service: a flag and a config value per request, changes logged live', async () => {
    await api.post(`${P}/flags`, { key: 'new-checkout', kind: 'boolean' });
    const settings = await api.put(`${P}/flags/new-checkout/environments/staging`, {
      on: true, offVariation: 'off', prerequisites: [], version: 1,
      rules: [{ id: 'de', clauses: [{ attribute: 'country', operator: 'in', values: ['de'] }], serve: { variation: 'on' } }],
      defaultServe: { variation: 'off' },
    });
    expect(settings.status).toBe(200);
    const limits = { type: 'object', properties: { maxItems: { type: 'integer', minimum: 1 } }, required: ['maxItems'] };
    expect((await api.post(`${P}/configs`, { key: 'checkout.limits', schema: limits, default: { maxItems: 20 } })).status).toBe(201);
    expect((await api.put(`${P}/configs/checkout.limits/environments/staging/tenants/acme`, { value: { maxItems: 50 } })).status).toBe(200);

    await scratch.write('example-server.mjs', await readFile(path.join(REPO_DIR, 'examples/node-service/server.mjs'), 'utf8'));
    const service = spawn(process.execPath, ['example-server.mjs'], {
      cwd: scratch.dir,
      env: { PATH: process.env.PATH, FLAGSTREAM_SDK_KEY: serverKey, FLAGSTREAM_URL: gw.url, FLAGSTREAM_CACHE: path.join(scratch.dir, 'example-cache.json'), PORT: '0' },
    });
    let output = '';
    service.stdout.on('data', (d: Buffer) => (output += d.toString()));
    service.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => service.on('exit', resolve));
    try {
      const base = await eventually(async () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], 10_000);
      const ask = async (query: string) => (await fetch(`${base}/?${query}`)).json() as Promise<{ newCheckout: boolean; reason: string; limits: unknown }>;
      expect(await ask('user=u1&country=de&tenant=acme')).toMatchObject({ newCheckout: true, reason: 'TARGETING_MATCH', limits: { maxItems: 50 } });
      expect(await ask('user=u2&country=fr&tenant=globex')).toMatchObject({ newCheckout: false, reason: 'DEFAULT', limits: { maxItems: 20 } });

      // (The first state logged every key as changed: look only at what comes after each change.)
      let mark = output.length;
      expect((await api.post(`${P}/flags/new-checkout/environments/staging/toggle`, { on: false })).status).toBe(200);
      await eventually(async () => output.slice(mark).includes('flags changed: new-checkout'), 5000);
      expect(await ask('user=u1&country=de&tenant=acme')).toMatchObject({ newCheckout: false, reason: 'DISABLED' });
      mark = output.length;
      expect((await api.put(`${P}/configs/checkout.limits/environments/staging/tenants/acme`, { value: { maxItems: 75 } })).status).toBe(200);
      await eventually(async () => output.slice(mark).includes('config changed: checkout.limits'), 5000);
      expect((await ask('tenant=acme')).limits).toEqual({ maxItems: 75 });
    } finally {
      service.kill('SIGTERM');
    }
    // SIGTERM closes the client (saving its cache): the process then ends by itself.
    expect(await exited).toBe(0);
    const cached = JSON.parse(await readFile(path.join(scratch.dir, 'example-cache.json'), 'utf8'));
    expect(cached.configs.map((c: { key: string }) => c.key)).toEqual(['checkout.limits']);
  }, 40_000);

  it('keeps client mode under its size budget (npm run sdk:size)', async () => {
    const r = await run(process.execPath, ['libs/sdk/scripts/size.mjs', '--no-write', '--json'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const rows: SizeRow[] = JSON.parse(r.stdout).results;
    const budgeted = rows.filter((row) => row.budgetBytes !== undefined);
    expect(budgeted.map((row) => row.entry)).toEqual(['./client', 'dist/browser/flagstream-client.min.js']);
    for (const row of budgeted) {
      expect(row.budgetBytes).toBe(CLIENT_BUDGET);
      expect(row.withinBudget).toBe(true);
      expect(row.gzipBytes).toBeGreaterThan(1000);
      expect(row.gzipBytes).toBeLessThanOrEqual(CLIENT_BUDGET);
    }
    // Peers stay external in the sizes too.
    expect(rows.find((row) => row.entry === './openfeature')?.external).toEqual(['@openfeature/server-sdk']);
  });

  describe('the browser build in headless Chromium', () => {
    let browser: HeadlessBrowser;
    let pages: PageServer;
    let page: Page;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      const script = await readFile(path.join(scratch.packageDir, 'dist/browser/flagstream-client.min.js'));
      const exampleHtml = await readFile(path.join(REPO_DIR, 'examples/browser/index.html'), 'utf8');
      // The page's origin (this server's port) differs from the gateway's: the stream is cross-origin.
      const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>banner</title></head>
<body>
<p id="banner">loading</p>
<script src="/flagstream-client.min.js"></script>
<script>
  window.changes = [];
  const c = new Flagstream.FlagstreamBrowserClient({ sdkKey: ${JSON.stringify(clientKey)}, baseUrl: ${JSON.stringify(gw.url)}, context: { targetingKey: 'u1' } });
  const render = () => { window.banner = c.boolean('banner', false); document.getElementById('banner').textContent = String(window.banner); };
  c.on('change', (keys) => { window.changes.push(keys); render(); });
  c.ready(3000).then(() => { window.state = 'ready'; render(); }, (err) => { window.state = 'failed: ' + err.message; });
</script>
</body></html>`;
      pages = await servePages((req, res) => {
        if (req.url === '/flagstream-client.min.js') {
          res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
        } else if (req.url === '/') {
          res.writeHead(200, { 'content-type': 'text/html' }).end(html);
        } else if (req.url?.startsWith('/example/flagstream-client.min.js')) {
          res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
        } else if (req.url?.startsWith('/example/')) {
          res.writeHead(200, { 'content-type': 'text/html' }).end(exampleHtml);
        } else {
          res.writeHead(404).end();
        }
      });
      browser = await launchChromium();
      page = await browser.context.newPage();
      page.on('pageerror', (err) => pageErrors.push(err.message));
    });

    afterAll(async () => {
      await browser?.close();
      await pages?.close();
    });

    it('runs examples/browser: the banner follows the flag live', async () => {
      const examplePage = await browser.context.newPage();
      examplePage.on('pageerror', (err) => pageErrors.push(err.message));
      const query = new URLSearchParams({ key: clientKey, gateway: gw.url, user: 'u2' });
      await examplePage.goto(`${pages.url}/example/?${query.toString()}`);
      await examplePage.waitForSelector('#banner[data-state="off"]', { timeout: 5000 });
      expect(await examplePage.textContent('#banner')).toBe('No sale today.');
      expect((await api.post(`${P}/flags/banner/environments/staging/toggle`, { on: true })).status).toBe(200);
      await examplePage.waitForSelector('#banner[data-state="on"]', { timeout: 5000 });
      expect(await examplePage.textContent('#banner')).toBe('Winter sale: 20% off everything!');
      // Back off, for the next test, which starts from an unlit banner.
      expect((await api.post(`${P}/flags/banner/environments/staging/toggle`, { on: false })).status).toBe(200);
      await examplePage.waitForSelector('#banner[data-state="off"]', { timeout: 5000 });
      await examplePage.close();
      expect(pageErrors).toEqual([]);
    });

    it('loads with a <script> tag, follows a flip made in the admin API, and restarts from localStorage without the gateway', async () => {
      await page.goto(pages.url);
      await page.waitForFunction(() => (globalThis as unknown as { state?: string }).state !== undefined);
      expect(await page.evaluate(() => (globalThis as unknown as { state: string }).state)).toBe('ready');
      expect(await page.textContent('#banner')).toBe('false');

      const toggled = await api.post(`${P}/flags/banner/environments/staging/toggle`, { on: true });
      expect(toggled.status).toBe(200);
      await page.waitForFunction(() => (globalThis as unknown as { banner?: boolean }).banner === true, undefined, { timeout: 5000 });
      expect(await page.textContent('#banner')).toBe('true');
      expect(await page.evaluate(() => (globalThis as unknown as { changes: string[][] }).changes)).toContainEqual(['banner']);

      // Reload with the gateway gone: ready() resolves from the values cached in localStorage.
      await gw.close();
      gatewayUp = false;
      await expect(fetch(`${gw.url}/health/live`)).rejects.toThrow();
      await page.reload();
      await page.waitForFunction(() => (globalThis as unknown as { state?: string }).state !== undefined);
      expect(await page.evaluate(() => (globalThis as unknown as { state: string }).state)).toBe('ready');
      // `true` can only come from the cache: the default is false and the gateway is gone.
      expect(await page.textContent('#banner')).toBe('true');
      expect(pageErrors).toEqual([]);
    });
  });
});
