// Builds the publishable @flagstream/sdk into dist/sdk/package/ (see libs/sdk/README.md):
// ESM (.mjs) and CJS (.js) with declarations (.d.mts / .d.ts) for every entry point, the internal
// libs and their small packages bundled, peers external; plus the IIFE browser build of client
// mode and the `flagstream` command (bin: dist/cli/flagstream.js, docs/cli.md). Then checks that
// the output imports nothing but peers (and node: built-ins).
//
//   node libs/sdk/scripts/build.mjs
import console from 'node:console';
import process from 'node:process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BROWSER_BUILD,
  FORBIDDEN,
  PEERS,
  ROOT_DIR,
  SDK_DIR,
  STAGE_DIR,
  TSCONFIG,
  existingEntries,
  missingEntries,
  sdkEsbuildPlugin,
} from './sdk-entries.mjs';

const DIST_DIR = path.join(STAGE_DIR, 'dist');
/** The `flagstream` command line (package.json `bin`): Node only, one CommonJS file with a shebang. */
const CLI_BUILD = { name: 'cli/flagstream', source: 'src/node/cli/flagstream.bin.ts' };

/** Builds the package into STAGE_DIR and returns the entries built. */
export async function buildSdk({ silent = false } = {}) {
  const entries = existingEntries();
  if (!entries.some((e) => e.subpath === '.')) throw new Error('libs/sdk/src/index.ts is missing');
  for (const e of missingEntries()) console.warn(`sdk:build: skipping ${e.subpath} (${e.source} does not exist yet)`);

  await rm(STAGE_DIR, { recursive: true, force: true });
  await mkdir(DIST_DIR, { recursive: true });

  // tsup reads dependencies and peers from the package.json of the working directory (they stay
  // external): libs/sdk/package.json declares the peers and no dependencies.
  const cwd = process.cwd();
  process.chdir(SDK_DIR);
  try {
    const { build } = await import('tsup');
    const common = {
      tsconfig: TSCONFIG,
      outDir: DIST_DIR,
      bundle: true,
      sourcemap: false,
      removeNodeProtocol: false,
      silent,
      esbuildPlugins: [sdkEsbuildPlugin()],
      noExternal: [/^@flagstream\//, 'semver', 'canonicalize', /^@noble\/hashes/, 'murmurhash'],
      // Peers stay imports; so do node: built-ins (only libs/sdk/src/node/ uses them).
      external: [...PEERS, /^node:/],
    };
    await build({
      ...common,
      entry: Object.fromEntries(entries.map((e) => [e.name, e.source])),
      format: ['esm', 'cjs'],
      // Neither Node's nor browsers' package conditions: one output for both (bundlers re-bundle it).
      platform: 'neutral',
      target: 'es2022',
      // Shared code lands in chunks (ESM and CJS alike), so a client and a provider from two
      // entries share one FlagstreamClient class.
      splitting: true,
      treeshake: false,
      // Declarations are bundled per entry, with the path-aliased libs inlined (resolved through
      // the repo's tsconfig paths, relative to the repo root).
      dts: { compilerOptions: { baseUrl: ROOT_DIR } },
      clean: false,
    });
    if (entries.some((e) => e.source === BROWSER_BUILD.source)) {
      await build({
        ...common,
        entry: { [BROWSER_BUILD.name.replace(/\.min\.js$/, '')]: BROWSER_BUILD.source },
        format: ['iife'],
        platform: 'browser',
        target: 'es2020',
        globalName: BROWSER_BUILD.globalName,
        minify: true,
        outExtension: () => ({ js: '.min.js' }),
        dts: false,
        clean: false,
      });
    }
    if (existsSync(path.join(SDK_DIR, CLI_BUILD.source))) {
      await build({
        ...common,
        entry: { [CLI_BUILD.name]: CLI_BUILD.source },
        format: ['cjs'],
        platform: 'node',
        target: 'node20',
        splitting: false,
        banner: { js: '#!/usr/bin/env node' },
        dts: false,
        clean: false,
      });
      await chmod(path.join(DIST_DIR, `${CLI_BUILD.name}.js`), 0o755);
    }
  } finally {
    process.chdir(cwd);
  }

  await writePackageJson(entries);
  await copyFile(path.join(SDK_DIR, 'README.md'), path.join(STAGE_DIR, 'README.md'));
  await checkOutput(DIST_DIR);
  return entries;
}

/** libs/sdk/package.json, with the entry points that do not exist yet left out of `exports`. */
async function writePackageJson(entries) {
  const pkg = JSON.parse(await readFile(path.join(SDK_DIR, 'package.json'), 'utf8'));
  const built = new Set(entries.map((e) => e.subpath));
  const keep = (subpath) => subpath === '.' || subpath === './package.json' || built.has(subpath === './browser' ? './client' : subpath);
  pkg.exports = Object.fromEntries(Object.entries(pkg.exports).filter(([k]) => keep(k)));
  if (pkg.typesVersions?.['*']) {
    pkg.typesVersions['*'] = Object.fromEntries(Object.entries(pkg.typesVersions['*']).filter(([k]) => built.has(`./${k}`)));
  }
  if (!built.has('./client')) {
    delete pkg.unpkg;
    delete pkg.jsdelivr;
  }
  if (!existsSync(path.join(SDK_DIR, CLI_BUILD.source))) delete pkg.bin;
  delete pkg.scripts;
  delete pkg.devDependencies;
  await writeFile(path.join(STAGE_DIR, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
}

async function listFiles(dir) {
  const out = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

// Module specifiers of import/export statements (at the start of a line, so TSDoc examples in
// declarations do not count), dynamic imports and require calls.
const SPECIFIER = /^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|^import\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)|\brequire\s*\(\s*["']([^"']+)["']\s*\)/gm;

/** Throws when built output imports anything but its own files, peers and node: built-ins, or names a server-side package. */
export async function checkOutput(distDir) {
  const problems = [];
  for (const file of await listFiles(distDir)) {
    if (!/\.(c|m)?js$|\.d\.(c|m)?ts$/.test(file)) continue;
    const text = await readFile(file, 'utf8');
    const rel = path.relative(path.dirname(distDir), file);
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3] ?? m[4];
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      if (PEERS.some((p) => spec === p || spec.startsWith(`${p}/`))) continue;
      const forbidden = FORBIDDEN.find((f) => spec === f || spec.startsWith(`${f}/`));
      problems.push(`${rel}: imports '${spec}'${forbidden ? ' (server-side package: must never reach the SDK)' : spec.startsWith('@flagstream/') ? ' (internal lib: must be bundled)' : ' (not a peer: bundle it or declare it)'}`);
    }
    if (/\b(typeorm|ioredis|@nestjs\/)/.test(text)) problems.push(`${rel}: mentions a server-side package`);
  }
  const browser = path.join(distDir, BROWSER_BUILD.name);
  const browserFiles = (await listFiles(distDir)).filter((f) => f === browser);
  for (const f of browserFiles) {
    if (/\brequire\(|\bnode:/.test(await readFile(f, 'utf8'))) problems.push(`${path.relative(path.dirname(distDir), f)}: the browser build must be self-contained`);
  }
  if (problems.length > 0) throw new Error(`sdk:build: the output is not publishable:\n  ${problems.join('\n  ')}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const entries = await buildSdk();
    console.log(`sdk:build: ${entries.map((e) => e.subpath).join(', ')} -> ${path.relative(ROOT_DIR, STAGE_DIR)}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
