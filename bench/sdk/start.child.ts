/*
 * One fresh process starting one SDK from its offline file, with the network unavailable (every
 * URL points at a closed local port), then evaluating one flag. Spawned by sdk.bench.ts:
 *
 *   node [--expose-gc] -r tsconfig-paths/register start.child.js <start|memory> <engine> '<OfflineFiles as JSON>' <port>
 *
 * Only Node built-ins are imported statically: each SDK is loaded with `import()` so that its
 * module-load time is measured on its own. Prints one JSON line (a StartSample).
 */
const bootMs = performance.now();

import { readFile } from 'node:fs/promises';
import { FIRST_FLAG, FIRST_USER, UNLEASH_APP, type OfflineFiles, type StartEngine, type StartSample } from './first-evaluation.model';

const SILENT = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

interface Started {
  value: unknown;
  /** Keeps the SDK reachable until the memory is measured (the process then exits without closing it). */
  holder: unknown;
}

/** Time (and, for memory runs, heap) checkpoints around one start. */
class Marks {
  loadStart = 0;
  loaded = 0;
  constructed = 0;
  evaluated = 0;
  heapBefore = 0;

  constructor(private readonly memory: boolean) {}

  beginLoad(): void {
    this.loadStart = performance.now();
  }

  /** The SDK's modules are loaded; construction starts now. */
  async ready(): Promise<void> {
    this.loaded = performance.now();
    if (this.memory) {
      // Node loads fetch's implementation on first use; load it here for every engine so that it is
      // not counted as the memory of the SDK that happens to call fetch first.
      await fetch('http://127.0.0.1:1/').catch(() => undefined);
      collect();
      this.heapBefore = process.memoryUsage().heapUsed;
    }
    this.constructed = performance.now();
  }

  done(): void {
    this.evaluated = performance.now();
  }
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory runs need node --expose-gc');
  gc();
  gc();
}

type Starter = (files: OfflineFiles, baseUrl: string, m: Marks) => Promise<Started>;

const STARTERS: Record<StartEngine, Starter> = {
  async flagstream(files, baseUrl, m) {
    m.beginLoad();
    const sdk = await import('@flagstream/sdk');
    await m.ready();
    const client = new sdk.FlagstreamClient({ sdkKey: 'fs_server_bench', baseUrl, cache: new sdk.FileSnapshotCache(files.flagstream), acknowledge: false });
    await client.ready(5000);
    const value = client.string(FIRST_FLAG, { targetingKey: FIRST_USER.key, ...FIRST_USER }, 'default');
    m.done();
    return { value, holder: client };
  },

  async 'flagstream-unordered'(files, baseUrl, m) {
    m.beginLoad();
    const sdk = await import('@flagstream/sdk');
    await m.ready();
    const client = new sdk.FlagstreamClient({ sdkKey: 'fs_server_bench', baseUrl, cache: new sdk.FileSnapshotCache(files.flagstreamUnordered), acknowledge: false });
    await client.ready(5000);
    const value = client.string(FIRST_FLAG, { targetingKey: FIRST_USER.key, ...FIRST_USER }, 'default');
    m.done();
    return { value, holder: client };
  },

  async 'flagstream-openfeature'(files, baseUrl, m) {
    m.beginLoad();
    const [{ OpenFeature }, { FlagstreamProvider }, sdk] = await Promise.all([
      import('@openfeature/server-sdk'),
      import('@flagstream/sdk/openfeature'),
      import('@flagstream/sdk'),
    ]);
    await m.ready();
    const provider = new FlagstreamProvider({ sdkKey: 'fs_server_bench', baseUrl, cache: new sdk.FileSnapshotCache(files.flagstream), acknowledge: false });
    await OpenFeature.setProviderAndWait(provider);
    const value = await OpenFeature.getClient().getStringValue(FIRST_FLAG, 'default', { targetingKey: FIRST_USER.key, ...FIRST_USER });
    m.done();
    return { value, holder: provider };
  },

  async engine(files, _baseUrl, m) {
    m.beginLoad();
    const { compile } = await import('@flagstream/targeting');
    await m.ready();
    const s = JSON.parse(await readFile(files.flagstream, 'utf8')) as Parameters<typeof compile>[0];
    const evaluator = compile({ environment: s.environment, revision: s.revision, flags: s.flags, segments: s.segments });
    const value = evaluator.evaluate(FIRST_FLAG, { targetingKey: FIRST_USER.key, ...FIRST_USER }).value;
    m.done();
    return { value, holder: evaluator };
  },

  async unleash(files, baseUrl, m) {
    m.beginLoad();
    const { Unleash } = await import('unleash-client');
    await m.ready();
    const unleash = new Unleash({
      appName: UNLEASH_APP,
      url: `${baseUrl}/api/`,
      backupPath: files.unleashDir,
      disableMetrics: true,
      refreshInterval: 60_000,
      skipInstanceCountWarning: true,
    });
    unleash.on('error', () => undefined);
    unleash.on('warn', () => undefined);
    await new Promise<void>((resolve) => unleash.once('ready', () => resolve()));
    const { key, ...properties } = FIRST_USER;
    const value = unleash.getVariant(FIRST_FLAG, { userId: key, properties }).name;
    m.done();
    return { value, holder: unleash };
  },

  async launchdarkly(files, baseUrl, m) {
    m.beginLoad();
    const ld = await import('@launchdarkly/node-server-sdk');
    await m.ready();
    const client = ld.init('sdk-bench', {
      updateProcessor: new ld.integrations.FileDataSourceFactory({ paths: [files.launchdarkly], autoUpdate: false }).getFactory(),
      sendEvents: false,
      diagnosticOptOut: true,
      baseUri: baseUrl,
      streamUri: baseUrl,
      eventsUri: baseUrl,
      logger: SILENT,
    });
    await client.waitForInitialization({ timeout: 5 });
    const value: unknown = await client.variation(FIRST_FLAG, { kind: 'user', ...FIRST_USER }, 'default');
    m.done();
    return { value, holder: client };
  },

  async growthbook(files, baseUrl, m) {
    m.beginLoad();
    const { GrowthBookClient } = await import('@growthbook/growthbook');
    await m.ready();
    const payload = JSON.parse(await readFile(files.growthbook, 'utf8')) as { features: Record<string, never> };
    const client = new GrowthBookClient({ apiHost: baseUrl, clientKey: 'sdk-bench' }).initSync({ payload });
    const { key, ...attributes } = FIRST_USER;
    const value = client.evalFeature(FIRST_FLAG, { attributes: { id: key, ...attributes } }).value;
    m.done();
    return { value, holder: client };
  },

  async flagd(files, _baseUrl, m) {
    m.beginLoad();
    const { FlagdCore } = await import('@openfeature/flagd-core');
    await m.ready();
    const core = new FlagdCore(undefined, SILENT);
    core.setConfigurations(await readFile(files.flagd, 'utf8'));
    const value = core.resolveStringEvaluation(FIRST_FLAG, 'default', { targetingKey: FIRST_USER.key, ...FIRST_USER }, SILENT).value;
    m.done();
    return { value, holder: core };
  },
};

async function main(): Promise<void> {
  const [mode, engine, filesJson, port] = process.argv.slice(2) as ['start' | 'memory', StartEngine, string, string];
  const files = JSON.parse(filesJson) as OfflineFiles;
  const marks = new Marks(mode === 'memory');
  const started = await STARTERS[engine](files, `http://127.0.0.1:${port}`, marks);
  const sample: StartSample = {
    engine,
    bootMs,
    loadMs: marks.loaded - marks.loadStart,
    firstEvalMs: marks.evaluated - marks.constructed,
    sinceProcessStartMs: marks.evaluated,
    value: started.value,
  };
  if (mode === 'memory') {
    collect();
    sample.heapBytes = process.memoryUsage().heapUsed - marks.heapBefore;
    if (started.holder === undefined) throw new Error('unreachable');
  }
  // Exit at once: closing each SDK is not what is measured, and some keep timers.
  process.stdout.write(`${JSON.stringify(sample)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
