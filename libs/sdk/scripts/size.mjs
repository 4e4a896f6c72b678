// Reports the browser cost of each @flagstream/sdk entry point: the entry bundled for the browser
// with everything it imports from the repo (internal libs and their small packages; peers and
// node: built-ins external), minified, then gzipped. Prints a table, writes
// bench/results/sdk-size.json, and exits 1 when client mode is over its budget.
//
//   node libs/sdk/scripts/size.mjs [--no-write] [--json]   (--json: the report on stdout instead of the table)
import console from 'node:console';
import process from 'node:process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { BROWSER_BUILD, CLIENT_BUDGET_BYTES, PEERS, RESULTS_FILE, ROOT_DIR, SDK_DIR, TSCONFIG, existingEntries, formatBytes, missingEntries, sdkEsbuildPlugin } from './sdk-entries.mjs';

const TARGET = 'es2020';

async function bundle(source, format, globalName) {
  const result = await esbuild.build({
    entryPoints: [path.join(SDK_DIR, source)],
    bundle: true,
    minify: true,
    format,
    globalName,
    platform: 'browser',
    target: TARGET,
    tsconfig: TSCONFIG,
    external: [...PEERS, 'node:*'],
    plugins: [sdkEsbuildPlugin()],
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const output = Object.values(result.metafile.outputs)[0];
  // The five biggest contributors, by minified bytes (to see where a budget goes).
  const largest = Object.entries(output.inputs)
    .map(([file, v]) => ({ file: file.replace(/^(\.\.\/)+/, ''), bytes: v.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 5);
  return {
    minBytes: code.byteLength,
    gzipBytes: gzipSync(code, { level: 9 }).byteLength,
    brotliBytes: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
    external: output.imports.filter((i) => i.external).map((i) => i.path).filter((p, i, all) => all.indexOf(p) === i).sort(),
    largest,
  };
}

/** Measures every entry that exists; returns the report (also what is written to the JSON file). */
export async function measureSdkSize() {
  const rows = [];
  for (const e of existingEntries()) {
    const budget = e.subpath === './client' ? CLIENT_BUDGET_BYTES : undefined;
    rows.push({ entry: e.subpath, description: e.description, source: `libs/sdk/${e.source}`, format: 'esm', budgetBytes: budget, ...(await bundle(e.source, 'esm')) });
  }
  if (existingEntries().some((e) => e.source === BROWSER_BUILD.source)) {
    rows.push({
      entry: `dist/${BROWSER_BUILD.name}`,
      description: `client mode for a <script> tag (global ${BROWSER_BUILD.globalName})`,
      source: `libs/sdk/${BROWSER_BUILD.source}`,
      format: 'iife',
      budgetBytes: CLIENT_BUDGET_BYTES,
      ...(await bundle(BROWSER_BUILD.source, 'iife', BROWSER_BUILD.globalName)),
    });
  }
  for (const r of rows) r.withinBudget = r.budgetBytes === undefined ? undefined : r.gzipBytes <= r.budgetBytes;
  return {
    date: new Date().toISOString(),
    node: process.version,
    esbuild: esbuild.version,
    cpus: os.cpus().length,
    method: `esbuild bundle of the entry for the browser (target ${TARGET}), internal libs and their packages included, peers and node: built-ins external, minified; gzip level 9, brotli quality 11`,
    budget: { entries: ['./client', `dist/${BROWSER_BUILD.name}`], gzipBytes: CLIENT_BUDGET_BYTES },
    missingEntries: missingEntries().map((e) => e.subpath),
    results: rows,
  };
}

export function formatTable(report) {
  const header = ['entry', 'min', 'min+gzip', 'min+brotli', 'budget (gzip)', 'external'];
  const lines = report.results.map((r) => [
    r.entry,
    formatBytes(r.minBytes),
    formatBytes(r.gzipBytes),
    formatBytes(r.brotliBytes),
    r.budgetBytes === undefined ? '' : `${formatBytes(r.budgetBytes)} ${r.withinBudget ? 'ok' : 'OVER'}`,
    r.external.join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const report = await measureSdkSize();
  if (process.argv.includes('--json')) console.log(JSON.stringify(report));
  else console.log(formatTable(report));
  if (report.missingEntries.length > 0) console.error(`not measured (no source yet): ${report.missingEntries.join(', ')}`);
  if (!process.argv.includes('--no-write')) {
    await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
    await writeFile(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`written to ${path.relative(ROOT_DIR, RESULTS_FILE)}`);
  }
  const over = report.results.filter((r) => r.withinBudget === false);
  for (const r of over) console.error(`sdk:size: ${r.entry} is ${formatBytes(r.gzipBytes)} min+gzip, over its budget of ${formatBytes(r.budgetBytes)}`);
  if (over.length > 0) process.exitCode = 1;
}
