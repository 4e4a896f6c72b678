/*
 * SDK benchmark (issue #5): start from cache, evaluation overhead over the raw engine, and memory
 * for 1,000 flags, with the peers' SDKs side by side in the same run. Prints tables and writes
 * bench/results/sdk.json.
 *
 *   npx tsc -p bench/sdk/tsconfig.json && \
 *   TS_NODE_BASEURL=./dist/bench node --expose-gc -r tsconfig-paths/register dist/bench/bench/sdk/sdk.bench.js
 *
 * - Start: each run is a fresh child process (start.child.ts) that loads one SDK and starts it from
 *   its offline file (the same 1,000 flags in each SDK's format) with every URL pointing at a closed
 *   local port, then evaluates one flag. Reported: median and p95 over the runs of construction ->
 *   first evaluation (the 5 ms target), module load, and process start -> first evaluation.
 *   FlagstreamClient starts twice: from the file as FileSnapshotCache writes it (canonical JSON,
 *   the gateway's own frame), and from the same snapshot written by JSON.stringify, whose keys are
 *   not in canonical order (a hand-made file), which the state hash check cannot take the fast
 *   path for.
 * - Overhead: ns per evaluation through FlagstreamClient's getters (and through OpenFeature with
 *   FlagstreamProvider) against the raw engine, on the same flags and the same 10,000 contexts.
 * - Memory: heap retained by each SDK after starting from its file (gc before and after).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { FlagstreamClient, type StreamOpenOptions, type StreamTransport } from '@flagstream/sdk';
import { FlagstreamProvider } from '@flagstream/sdk/openfeature';
import { InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { compile } from '@flagstream/targeting';
import { flagstreamSnapshot } from '../evaluation/engines/flagstream.engine';
import { benchUsers } from '../evaluation/users.factory';
import { W4_FLAGS, type BenchFlag } from '../evaluation/workload.model';
import { FIRST_VALUE, START_ENGINES, type OfflineFiles, type StartEngine, type StartSample } from './first-evaluation.model';
import { flagstreamSnapshotMessage, writeOfflineFiles } from './offline-files';

const START_RUNS = 15;
/** Flags in the offline file: a small service, and the 1,000 of the memory measurement. */
const START_SIZES = [10, 1000] as const;
/** The size whose retained heap is measured. */
const MEMORY_SIZE = 1000;
const MEMORY_RUNS = 3;
const CONTEXTS = 10_000;
const SAMPLES = 7;
const SAMPLE_MS = 250;
const WARMUP_MS = 500;
const TARGET_FIRST_EVAL_MS = 5;

const DESCRIPTIONS: Record<StartEngine, { name: string; mechanism: string }> = {
  flagstream: {
    name: '@flagstream/sdk FlagstreamClient',
    mechanism: 'cache: new FileSnapshotCache(file), the file as the cache writes it (canonical JSON); state hash checked before serving',
  },
  'flagstream-unordered': {
    name: 'FlagstreamClient, hand-written cache file',
    mechanism: 'the same snapshot as JSON.stringify wrote it (keys not in canonical order): the exact canonicalising hash path',
  },
  'flagstream-openfeature': { name: 'FlagstreamProvider (OpenFeature)', mechanism: 'FlagstreamProvider with the same cache; setProviderAndWait' },
  engine: { name: '@flagstream/targeting (raw engine)', mechanism: 'readFile + JSON.parse + compile (no SDK, no hash check)' },
  unleash: { name: 'unleash-client', mechanism: "backupPath: the SDK's own backup file" },
  launchdarkly: { name: '@launchdarkly/node-server-sdk', mechanism: 'FileDataSourceFactory (file data source)' },
  growthbook: { name: '@growthbook/growthbook', mechanism: 'readFile + JSON.parse + initSync({ payload })' },
  flagd: { name: '@openfeature/flagd-core', mechanism: 'readFile + setConfigurations (engine only: the flagd provider, which has the offline file mode, is not installed)' },
};

/** W1-W3 of bench/evaluation: one flag per evaluation. */
const SINGLE: BenchFlag[] = [
  { key: 'w1', shape: 'static' },
  { key: 'w2', shape: 'half' },
  { key: 'w3', shape: 'rules' },
];
const WORKLOADS = {
  W1: 'boolean flag, on, no rules',
  W2: 'boolean flag, 50% rollout on the user key',
  W3: '3 rules (country in 20 AND plan == enterprise; email endsWith; appVersion semver >= 2.3.0), else 10% rollout',
} as const;
type Workload = keyof typeof WORKLOADS;
const PATHS = ['engine', 'getter', 'detail', 'openfeature', 'openfeature-floor'] as const;
type EvalPath = (typeof PATHS)[number];
const PATH_NAMES: Record<EvalPath, string> = {
  engine: 'raw engine evaluate(key, ctx)',
  getter: 'FlagstreamClient.boolean/string',
  detail: 'FlagstreamClient.*Detail',
  openfeature: 'OpenFeature + FlagstreamProvider',
  'openfeature-floor': 'OpenFeature + InMemoryProvider',
};

interface Stats {
  median: number;
  p95: number;
  min: number;
  max: number;
}

interface StartResult {
  engine: StartEngine;
  name: string;
  version: string;
  mechanism: string;
  runs: number;
  firstEvalMs: Stats;
  loadMs: Stats;
  bootMs: Stats;
  sinceProcessStartMs: Stats;
  heapBytes: number;
}

type OverheadResult = Record<Workload, Record<EvalPath, { nsPerOp: number; samplesNs: number[] }> & { sameValues: boolean }>;

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(process.cwd(), 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const VERSIONS: Record<StartEngine, string> = {
  flagstream: 'workspace',
  'flagstream-unordered': 'workspace',
  'flagstream-openfeature': `server-sdk ${packageVersion('@openfeature/server-sdk')}`,
  engine: 'workspace',
  unleash: packageVersion('unleash-client'),
  launchdarkly: packageVersion('@launchdarkly/node-server-sdk'),
  growthbook: packageVersion('@growthbook/growthbook'),
  flagd: packageVersion('@openfeature/flagd-core'),
};

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, p95: rank(0.95), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** A local port nothing listens on: the SDKs' network attempts fail at once (connection refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function runChild(mode: 'start' | 'memory', engine: StartEngine, files: OfflineFiles, port: number): StartSample {
  const execArgv = process.execArgv.filter((a) => a !== '--expose-gc');
  const args = [...execArgv, ...(mode === 'memory' ? ['--expose-gc'] : []), join(__dirname, 'start.child.js'), mode, engine, JSON.stringify(files), String(port)];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  if (child.status !== 0) throw new Error(`${engine} ${mode} run failed (status ${child.status}): ${child.stderr}`);
  const sample = JSON.parse(child.stdout.trim().split('\n').pop()!) as StartSample;
  if (sample.value !== FIRST_VALUE) throw new Error(`${engine} served ${JSON.stringify(sample.value)} instead of ${FIRST_VALUE}: not from its offline file`);
  return sample;
}

/** Start-up samples of every engine from `files`; with `memoryRuns`, also their retained heap. */
function measureStarts(files: OfflineFiles, port: number, label: string, memoryRuns: number): StartResult[] {
  const samples = new Map<StartEngine, StartSample[]>(START_ENGINES.map((e) => [e, []]));
  // One discarded run each (warms the file system cache), then the engines in turn so that
  // background noise spreads over all of them.
  for (const engine of START_ENGINES) runChild('start', engine, files, port);
  for (let run = 0; run < START_RUNS; run++) {
    process.stderr.write(`${label}: start run ${run + 1}/${START_RUNS}\r`);
    for (const engine of START_ENGINES) samples.get(engine)!.push(runChild('start', engine, files, port));
  }
  process.stderr.write('\n');
  const heaps = new Map<StartEngine, number[]>(START_ENGINES.map((e) => [e, []]));
  for (let run = 0; run < memoryRuns; run++) {
    process.stderr.write(`${label}: memory run ${run + 1}/${memoryRuns}\r`);
    for (const engine of START_ENGINES) heaps.get(engine)!.push(runChild('memory', engine, files, port).heapBytes!);
  }
  if (memoryRuns > 0) process.stderr.write('\n');
  return START_ENGINES.map((engine) => {
    const s = samples.get(engine)!;
    return {
      engine,
      name: DESCRIPTIONS[engine].name,
      version: VERSIONS[engine],
      mechanism: DESCRIPTIONS[engine].mechanism,
      runs: s.length,
      firstEvalMs: stats(s.map((x) => x.firstEvalMs)),
      loadMs: stats(s.map((x) => x.loadMs)),
      bootMs: stats(s.map((x) => x.bootMs)),
      sinceProcessStartMs: stats(s.map((x) => x.sinceProcessStartMs)),
      heapBytes: memoryRuns > 0 ? stats(heaps.get(engine)!).median : Number.NaN,
    };
  });
}

/** A transport that never connects: the overhead runs measure evaluation only. */
class IdleTransport implements StreamTransport {
  open(o: StreamOpenOptions): Promise<void> {
    return new Promise((resolve) => o.signal.addEventListener('abort', () => resolve()));
  }
  async ack(): Promise<void> {}
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

type Op = (index: number) => unknown;

async function timed(op: Op, async: boolean, count: number, offset: number): Promise<number> {
  let sink = 0;
  const start = process.hrtime.bigint();
  if (async) {
    const batch: unknown[] = [];
    for (let i = 0; i < count; i++) {
      batch.push(op((offset + i) % CONTEXTS));
      if (batch.length === 100) {
        sink += (await Promise.all(batch)).length;
        batch.length = 0;
      }
    }
    sink += (await Promise.all(batch)).length;
  } else {
    for (let i = 0; i < count; i++) if (op((offset + i) % CONTEXTS) !== undefined) sink++;
  }
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink < 0) console.log(sink);
  return elapsed;
}

/** Grows the batch until one batch takes about 50 ms; returns the ops for a SAMPLE_MS sample. */
async function warmUp(op: Op, async: boolean): Promise<number> {
  let count = 100;
  let offset = 0;
  const warmStart = Date.now();
  while (Date.now() - warmStart < WARMUP_MS) {
    const ns = await timed(op, async, count, offset);
    offset += count;
    if (ns < 50e6) count *= 2;
  }
  const perOp = (await timed(op, async, count, offset)) / count;
  return Math.max(100, Math.round((SAMPLE_MS * 1e6) / perOp));
}

/**
 * Warms every path up, then takes SAMPLES samples of each in turn (A B C, A B C, ...) so that drift
 * on a shared machine affects every path alike; reports each path's median.
 */
async function measureInterleaved(paths: Record<EvalPath, { op: Op; async: boolean }>): Promise<Record<EvalPath, { nsPerOp: number; samplesNs: number[] }>> {
  const sizes = {} as Record<EvalPath, number>;
  for (const path of PATHS) sizes[path] = await warmUp(paths[path].op, paths[path].async);
  const samples = Object.fromEntries(PATHS.map((p) => [p, [] as number[]])) as Record<EvalPath, number[]>;
  let offset = 0;
  for (let s = 0; s < SAMPLES; s++) {
    for (const path of PATHS) {
      gc();
      samples[path].push((await timed(paths[path].op, paths[path].async, sizes[path], offset)) / sizes[path]);
      offset += 7919;
    }
  }
  return Object.fromEntries(PATHS.map((p) => [p, { nsPerOp: stats(samples[p]).median, samplesNs: samples[p] }])) as Record<EvalPath, { nsPerOp: number; samplesNs: number[] }>;
}

async function measureOverhead(): Promise<OverheadResult> {
  const users = benchUsers(CONTEXTS);
  const contexts = users.map((u) => ({ targetingKey: u.key, country: u.country, plan: u.plan, email: u.email, appVersion: u.appVersion }));
  // The raw engine and the client hold the same three flags (bench/evaluation's W1-W3).
  const engine = compile(flagstreamSnapshot(SINGLE));
  const options = { sdkKey: 'fs_server_bench', baseUrl: 'http://127.0.0.1:1', bootstrap: flagstreamSnapshotMessage(SINGLE), acknowledge: false };
  const client = new FlagstreamClient({ ...options, transport: new IdleTransport() });
  await client.ready(1000);
  await OpenFeature.setProviderAndWait('flagstream', new FlagstreamProvider({ ...options, transport: new IdleTransport() }));
  const of = OpenFeature.getClient('flagstream');
  // The cost of the OpenFeature layer itself: a provider that returns a constant.
  await OpenFeature.setProviderAndWait(
    'floor',
    new InMemoryProvider({
      w1: { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false },
      w2: { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false },
      w3: { variants: { control: 'control' }, defaultVariant: 'control', disabled: false },
    }),
  );
  const floor = OpenFeature.getClient('floor');

  const out = {} as OverheadResult;
  for (const workload of Object.keys(WORKLOADS) as Workload[]) {
    const key = workload.toLowerCase();
    const strings = workload === 'W3';
    const paths: Record<EvalPath, { op: Op; async: boolean }> = {
      engine: { op: (i) => engine.evaluate(key, contexts[i]!).value, async: false },
      getter: { op: strings ? (i) => client.string(key, contexts[i]!, 'default') : (i) => client.boolean(key, contexts[i]!, false), async: false },
      detail: {
        op: strings ? (i) => client.stringDetail(key, contexts[i]!, 'default').value : (i) => client.booleanDetail(key, contexts[i]!, false).value,
        async: false,
      },
      openfeature: {
        op: strings ? (i) => of.getStringValue(key, 'default', contexts[i]!) : (i) => of.getBooleanValue(key, false, contexts[i]!),
        async: true,
      },
      'openfeature-floor': {
        op: strings ? (i) => floor.getStringValue(key, 'default', contexts[i]!) : (i) => floor.getBooleanValue(key, false, contexts[i]!),
        async: true,
      },
    };
    // Same values through the engine, the getters and OpenFeature, for every context.
    let sameValues = true;
    for (let i = 0; i < CONTEXTS; i++) {
      const expected = paths.engine.op(i);
      if (paths.getter.op(i) !== expected || paths.detail.op(i) !== expected || (await paths.openfeature.op(i)) !== expected) sameValues = false;
    }
    process.stderr.write(`overhead ${workload}\n`);
    out[workload] = { ...(await measureInterleaved(paths)), sameValues };
  }
  await OpenFeature.close();
  await client.close();
  return out;
}

function format(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

type StartsBySize = Record<string, StartResult[]>;

function reportStarts(size: number, starts: StartResult[], notes: string[]): boolean {
  const ours = starts.find((r) => r.engine === 'flagstream')!;
  console.log(`\nStart from an offline file of ${format(size)} flags, network unavailable: ${START_RUNS} fresh processes per SDK`);
  console.log(`${'SDK'.padEnd(52)}${'construct→1st eval'.padStart(20)}${'rel. time'.padStart(15)}${'module load'.padStart(18)}${'process start→1st eval'.padStart(25)}`);
  console.log(`${''.padEnd(52)}${'median / p95 ms'.padStart(20)}${'(median)'.padStart(15)}${'median / p95 ms'.padStart(18)}${'median / p95 ms'.padStart(25)}`);
  for (const r of starts) {
    const pair = (x: Stats) => `${format(x.median, 1)} / ${format(x.p95, 1)}`;
    console.log(
      `${`${r.name} ${r.version}`.padEnd(52)}${pair(r.firstEvalMs).padStart(20)}${`${format(r.firstEvalMs.median / ours.firstEvalMs.median, 2)}x`.padStart(15)}${pair(r.loadMs).padStart(18)}${pair(r.sinceProcessStartMs).padStart(25)}`,
    );
  }
  console.log('rel. time: construct→1st eval median ÷ FlagstreamClient\'s (below 1: faster than FlagstreamClient)');
  const met = ours.firstEvalMs.median < TARGET_FIRST_EVAL_MS && ours.firstEvalMs.p95 < TARGET_FIRST_EVAL_MS;
  console.log(
    `Target (FlagstreamClient construction → first evaluation from cache < ${TARGET_FIRST_EVAL_MS} ms), ${format(size)} flags: ${met ? 'met' : 'NOT met'} (median ${format(ours.firstEvalMs.median, 1)} ms, p95 ${format(ours.firstEvalMs.p95, 1)} ms)`,
  );
  if (!met) notes.push(`${format(size)} flags: construction → first evaluation from cache median ${format(ours.firstEvalMs.median, 1)} ms, p95 ${format(ours.firstEvalMs.p95, 1)} ms (target < ${TARGET_FIRST_EVAL_MS} ms)`);
  return met;
}

function report(starts: StartsBySize, overhead: OverheadResult): Record<string, unknown> {
  const notes: string[] = [];
  const targetMet: Record<string, boolean> = {};
  for (const size of START_SIZES) targetMet[size] = reportStarts(size, starts[size]!, notes);
  const all = Object.values(starts).flat();
  console.log('How each starts offline (every URL points at a closed local port):');
  for (const r of starts[START_SIZES[0]]!) console.log(`  ${r.name.padEnd(36)}${r.mechanism}`);
  console.log(
    `Node boot (process start → first line of the child script, incl. -r tsconfig-paths/register): median ${format(stats(all.map((r) => r.bootMs.median)).median, 1)} ms`,
  );

  console.log(`\nEvaluation overhead over the raw engine: same 3 flags, ${format(CONTEXTS)} precomputed contexts, warm-up, ${SAMPLES} interleaved rounds`);
  console.log('ns/op: median of the rounds; vs raw engine: median of the per-round ratios');
  console.log(`${'workload'.padEnd(10)}${'path'.padEnd(36)}${'ns/op'.padStart(12)}${'vs raw engine'.padStart(16)}${'ops/s'.padStart(16)}`);
  const ratios: Record<string, Record<string, number>> = {};
  for (const workload of Object.keys(WORKLOADS) as Workload[]) {
    const row = overhead[workload];
    ratios[workload] = {};
    for (const path of PATHS) {
      // Samples were taken in rounds (every path once per round): the median of per-round ratios
      // cancels most of the drift of a shared machine.
      const ratio = stats(row[path].samplesNs.map((ns, i) => ns / row.engine.samplesNs[i]!)).median;
      ratios[workload]![path] = ratio;
      console.log(
        `${workload.padEnd(10)}${PATH_NAMES[path].padEnd(36)}${format(row[path].nsPerOp, 1).padStart(12)}${`${format(ratio, 2)}x`.padStart(16)}${format(1e9 / row[path].nsPerOp).padStart(16)}`,
      );
    }
    if (!row.sameValues) notes.push(`${workload}: the evaluation paths disagree on some values`);
  }
  console.log(`  ${Object.entries(WORKLOADS).map(([k, v]) => `${k}: ${v}`).join('\n  ')}`);

  const big = starts[MEMORY_SIZE]!;
  const ours = big.find((r) => r.engine === 'flagstream')!;
  console.log(`\nRetained heap holding ${format(MEMORY_SIZE)} flags, started from the offline file (gc before and after, median of ${MEMORY_RUNS} processes)`);
  console.log(`${'SDK'.padEnd(52)}${'KiB'.padStart(10)}${'vs flagstream'.padStart(16)}`);
  for (const r of big) {
    console.log(`${`${r.name} ${r.version}`.padEnd(52)}${format(r.heapBytes / 1024).padStart(10)}${`${format(r.heapBytes / ours.heapBytes, 2)}x`.padStart(16)}`);
  }
  console.log(notes.length === 0 ? '\nAll targets met and all sanity checks passed.' : `\nCheck:\n  ${notes.join('\n  ')}`);
  return { overheadRatios: ratios, targetMet, notes };
}

async function main(): Promise<void> {
  if (process.argv.includes('--overhead')) {
    process.stdout.write(`${JSON.stringify(await measureOverhead())}\n`);
    process.exit(0);
  }
  const dir = mkdtempSync(join(tmpdir(), 'flagstream-sdk-bench-'));
  try {
    const port = await closedPort();
    const starts: StartsBySize = {};
    for (const size of START_SIZES) {
      const sub = join(dir, String(size));
      mkdirSync(sub);
      const files = writeOfflineFiles(sub, W4_FLAGS.slice(0, size));
      starts[size] = measureStarts(files, port, `${size} flags`, size === MEMORY_SIZE ? MEMORY_RUNS : 0);
    }
    process.stderr.write('measuring evaluation overhead...\n');
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, '--overhead'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`overhead run failed with status ${child.status}`);
    const overhead = JSON.parse(child.stdout.trim().split('\n').pop()!) as OverheadResult;

    console.log(`SDK benchmark: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${format(totalmem() / 2 ** 30, 1)} GiB`);
    const analysis = report(starts, overhead);
    const out = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      flagsInFile: START_SIZES,
      memoryFlags: MEMORY_SIZE,
      startRuns: START_RUNS,
      memoryRuns: MEMORY_RUNS,
      contexts: CONTEXTS,
      samples: SAMPLES,
      targetFirstEvalMs: TARGET_FIRST_EVAL_MS,
      workloads: WORKLOADS,
      start: starts,
      overhead,
      ...analysis,
    };
    const results = join(process.cwd(), 'bench', 'results');
    mkdirSync(results, { recursive: true });
    writeFileSync(join(results, 'sdk.json'), `${JSON.stringify(out, null, 2)}\n`);
    console.log(`\nWrote ${join('bench', 'results', 'sdk.json')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
