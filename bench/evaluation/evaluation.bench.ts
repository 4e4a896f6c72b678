/*
 * Evaluation benchmark: Flagstream's engine against the local evaluators of Unleash, GrowthBook,
 * flagd and LaunchDarkly, on the same workloads with the same semantics. One run measures every
 * engine, each in its own child process (a fresh heap and JIT), and prints a table; the results go
 * to bench/results/evaluation.json.
 *
 *   npx tsc -p bench/evaluation/tsconfig.json && \
 *   TS_NODE_BASEURL=./dist/bench node --expose-gc -r tsconfig-paths/register dist/bench/bench/evaluation/evaluation.bench.js
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { FlagdEngine } from './engines/flagd.engine';
import { FlagstreamEngine } from './engines/flagstream.engine';
import { GrowthBookEngine } from './engines/growthbook.engine';
import { LaunchDarklyEngine } from './engines/launchdarkly.engine';
import { UnleashEngine } from './engines/unleash.engine';
import { benchUsers } from './users.factory';
import { W4_FLAGS, type EngineAdapter, type WorkloadId } from './workload.model';

const CONTEXTS = 10_000;
const SAMPLES = 5;
const SAMPLE_MS = 250;
const WARMUP_MS = 500;
const ENGINES = ['flagstream', 'flagd', 'growthbook', 'launchdarkly', 'unleash'] as const;
type EngineName = (typeof ENGINES)[number];
const WORKLOADS: WorkloadId[] = ['W1', 'W2', 'W3', 'W4'];
const DESCRIPTIONS: Record<WorkloadId, string> = {
  W1: 'boolean flag, on, no rules',
  W2: 'boolean flag, 50% rollout on the user key',
  W3: '3 rules (country in 20 AND plan == enterprise; email endsWith; appVersion semver >= 2.3.0), else 10% rollout',
  W4: '1,000 flags mixing W1-W3, evaluate all for one context (one op = one bulk evaluation)',
};

interface WorkloadResult {
  nsPerOp: number;
  opsPerSecond: number;
  samplesNs: number[];
  sanity: Record<string, number>;
}

interface EngineResult {
  engine: string;
  version: string;
  heapBytesFor1000Flags: number;
  workloads: Record<WorkloadId, WorkloadResult>;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(process.cwd(), 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function createEngine(name: EngineName): EngineAdapter {
  switch (name) {
    case 'flagstream':
      return new FlagstreamEngine();
    case 'flagd':
      return new FlagdEngine(packageVersion('@openfeature/flagd-core'));
    case 'growthbook':
      return new GrowthBookEngine(packageVersion('@growthbook/growthbook'));
    case 'launchdarkly':
      return new LaunchDarklyEngine(packageVersion('@launchdarkly/node-server-sdk'));
    case 'unleash':
      return new UnleashEngine(packageVersion('unleash-client'));
  }
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

type Op = (index: number) => unknown;

/** Runs `count` operations over the contexts, starting at `offset`; returns elapsed nanoseconds. */
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

/** Warm-up, then the median of 5 samples of about SAMPLE_MS each. */
async function measure(op: Op, async: boolean): Promise<{ nsPerOp: number; samplesNs: number[] }> {
  let count = 100;
  let warmed = 0;
  let offset = 0;
  const warmStart = Date.now();
  while (Date.now() - warmStart < WARMUP_MS) {
    const ns = await timed(op, async, count, offset);
    offset += count;
    warmed += count;
    if (ns < 50e6) count *= 2;
  }
  const perOp = (await timed(op, async, count, offset)) / count;
  const perSample = Math.max(100, Math.round((SAMPLE_MS * 1e6) / perOp));
  const samplesNs: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    gc();
    samplesNs.push((await timed(op, async, perSample, offset)) / perSample);
    offset += perSample;
  }
  void warmed;
  const sorted = [...samplesNs].sort((a, b) => a - b);
  return { nsPerOp: sorted[Math.floor(SAMPLES / 2)]!, samplesNs };
}

/** Value counts over every context, to check that each engine computes the same thing. */
async function sanity(engine: EngineAdapter, workload: WorkloadId): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < CONTEXTS; i++) {
    const value = workload === 'W4' ? await engine.evaluateAll(i) : await engine.evaluate(workload.toLowerCase(), i);
    const label = String(value);
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}

async function runEngine(name: EngineName): Promise<EngineResult> {
  const users = benchUsers(CONTEXTS);
  gc();
  const before = process.memoryUsage().heapUsed;
  const probe = createEngine(name);
  await probe.setup(W4_FLAGS, []);
  gc();
  const heapBytesFor1000Flags = process.memoryUsage().heapUsed - before;
  await probe.close();

  const engine = createEngine(name);
  await engine.setup(W4_FLAGS, users);
  const workloads = {} as Record<WorkloadId, WorkloadResult>;
  for (const workload of WORKLOADS) {
    const flagKey = workload.toLowerCase();
    const op: Op = workload === 'W4' ? (i) => engine.evaluateAll(i) : (i) => engine.evaluate(flagKey, i);
    const { nsPerOp, samplesNs } = await measure(op, engine.async);
    workloads[workload] = { nsPerOp, opsPerSecond: 1e9 / nsPerOp, samplesNs, sanity: await sanity(engine, workload) };
  }
  await engine.close();
  return { engine: engine.name, version: engine.version, heapBytesFor1000Flags, workloads };
}

function format(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function report(results: EngineResult[]): Record<string, unknown> {
  const ours = results.find((r) => r.engine === 'flagstream')!;
  const peers = results.filter((r) => r !== ours);
  const summary: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const workload of WORKLOADS) {
    const fastestPeer = peers.reduce((best, r) => (r.workloads[workload].nsPerOp < best.workloads[workload].nsPerOp ? r : best));
    const peerNs = fastestPeer.workloads[workload].nsPerOp;
    console.log(`\n${workload}: ${DESCRIPTIONS[workload]}`);
    console.log(`${'engine'.padEnd(32)}${'ops/s'.padStart(14)}${'ns/op'.padStart(14)}${'vs fastest peer'.padStart(18)}  sanity`);
    for (const r of [...results].sort((a, b) => a.workloads[workload].nsPerOp - b.workloads[workload].nsPerOp)) {
      const w = r.workloads[workload];
      const ratio = peerNs / w.nsPerOp;
      const sanityText = Object.entries(w.sanity)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      console.log(
        `${`${r.engine} ${r.version}`.padEnd(32)}${format(w.opsPerSecond).padStart(14)}${format(w.nsPerOp, 1).padStart(14)}${`${format(ratio, 2)}x`.padStart(18)}  ${sanityText}`,
      );
    }
    const speedup = peerNs / ours.workloads[workload].nsPerOp;
    summary[workload] = { fastestPeer: fastestPeer.engine, flagstreamNsPerOp: ours.workloads[workload].nsPerOp, fastestPeerNsPerOp: peerNs, speedup };
    if (speedup < 3) problems.push(`${workload}: ${format(speedup, 2)}x the fastest peer (target 3x)`);
  }
  // Same semantics: rule matches are deterministic, so every engine must count them identically;
  // rollouts hash differently, so W2 need only be about 50% and W3's 10% rollout about 10% of the rest.
  for (const r of results) {
    const w2 = r.workloads.W2.sanity;
    const share = (w2['true'] ?? 0) / CONTEXTS;
    if (Math.abs(share - 0.5) > 0.02) problems.push(`${r.engine}: W2 serves true to ${format(share * 100, 1)}%`);
    for (const label of ['enterprise', 'example', 'modern']) {
      if (r.workloads.W3.sanity[label] !== ours.workloads.W3.sanity[label]) {
        problems.push(`${r.engine}: W3 ${label}=${r.workloads.W3.sanity[label]} differs from flagstream ${ours.workloads.W3.sanity[label]}`);
      }
    }
    const rest = (r.workloads.W3.sanity['rollout'] ?? 0) + (r.workloads.W3.sanity['control'] ?? 0);
    const rollout = (r.workloads.W3.sanity['rollout'] ?? 0) / rest;
    if (Math.abs(rollout - 0.1) > 0.02) problems.push(`${r.engine}: W3 rollout serves ${format(rollout * 100, 1)}% of the rest`);
    if (r.workloads.W4.sanity[String(W4_FLAGS.length)] !== CONTEXTS) problems.push(`${r.engine}: W4 did not evaluate 1,000 flags every time`);
  }
  const w4Us = ours.workloads.W4.nsPerOp / 1000;
  if (w4Us >= 100) problems.push(`W4: ${format(w4Us, 1)} µs per 1,000-flag bulk evaluation (target < 100 µs)`);
  console.log('\nHeap used by 1,000 compiled flags:');
  for (const r of results) console.log(`  ${r.engine.padEnd(30)}${format(r.heapBytesFor1000Flags / 1024).padStart(10)} KiB`);
  console.log(`\nFlagstream W4: ${format(w4Us, 1)} µs per 1,000-flag bulk evaluation`);
  console.log(problems.length === 0 ? '\nAll targets met and all sanity checks passed.' : `\nCheck:\n  ${problems.join('\n  ')}`);
  return { summary, problems };
}

async function main(): Promise<void> {
  const engineArg = process.argv.indexOf('--engine');
  if (engineArg > 0) {
    const result = await runEngine(process.argv[engineArg + 1] as EngineName);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
  const only = process.argv.slice(2).filter((a) => (ENGINES as readonly string[]).includes(a)) as EngineName[];
  const results: EngineResult[] = [];
  for (const name of only.length > 0 ? only : ENGINES) {
    process.stderr.write(`measuring ${name}...\n`);
    const child = spawnSync(process.execPath, [...process.execArgv, __filename, '--engine', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`${name} failed with status ${child.status}`);
    const line = child.stdout.trim().split('\n').pop()!;
    results.push(JSON.parse(line) as EngineResult);
  }
  console.log(`Evaluation benchmark: ${CONTEXTS.toLocaleString('en-US')} precomputed random contexts, warm-up, median of ${SAMPLES}`);
  console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${format(totalmem() / 2 ** 30, 1)} GiB`);
  const analysis = report(results);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    contexts: CONTEXTS,
    samples: SAMPLES,
    workloads: DESCRIPTIONS,
    results,
    ...analysis,
  };
  const dir = join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'evaluation.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nWrote ${join('bench', 'results', 'evaluation.json')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
