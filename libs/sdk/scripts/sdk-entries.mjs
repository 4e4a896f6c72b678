// What the published @flagstream/sdk package is made of, shared by build.mjs, pack.mjs and size.mjs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SDK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT_DIR = path.resolve(SDK_DIR, '../..');
/** The package as it is packed: package.json, README.md and dist/ (under the root dist/, which git, eslint and depcruise ignore). */
export const STAGE_DIR = path.join(ROOT_DIR, 'dist/sdk/package');
/** Where `npm pack` writes the tarball. */
export const PACK_DIR = path.join(ROOT_DIR, 'dist/sdk');
export const TSCONFIG = path.join(SDK_DIR, 'tsconfig.build.json');
export const RESULTS_FILE = path.join(ROOT_DIR, 'bench/results/sdk-size.json');

/** Client mode's budget: minified + gzipped, for the `./client` entry and the IIFE build. */
export const CLIENT_BUDGET_BYTES = 15 * 1024;

/**
 * The package's entry points. `name` is the output path under dist/ (without extension), `source`
 * is relative to libs/sdk. An entry whose source does not exist yet is skipped with a warning.
 */
export const ENTRIES = [
  { subpath: '.', name: 'index', source: 'src/index.ts', platform: 'node', description: 'server mode (Node)' },
  { subpath: './client', name: 'client/index', source: 'src/client/index.ts', platform: 'browser', description: 'client mode (browsers)' },
  { subpath: './openfeature', name: 'openfeature/index', source: 'src/openfeature/index.ts', platform: 'node', description: 'OpenFeature server provider' },
  { subpath: './openfeature-web', name: 'openfeature-web/index', source: 'src/openfeature-web/index.ts', platform: 'browser', description: 'OpenFeature web provider' },
  { subpath: './socket-io', name: 'socket-io/index', source: 'src/socket-io/index.ts', platform: 'node', description: 'socket.io transport' },
];

/** The browser build of client mode, for a plain <script> tag. */
export const BROWSER_BUILD = {
  name: 'browser/flagstream-client.min.js',
  source: 'src/client/index.ts',
  globalName: 'Flagstream',
};

/** Optional peer dependencies: never bundled. */
export const PEERS = ['@openfeature/server-sdk', '@openfeature/web-sdk', '@openfeature/core', 'socket.io-client'];

/** Packages that must never reach the published output (server-side code, or code the SDK must not need). */
export const FORBIDDEN = ['@nestjs', 'typeorm', 'ioredis', 'redis', 'pg', 'pino', 'pino-http', 'ajv', 'ajv-formats', 'express', 'rxjs', 'reflect-metadata', 'class-validator', 'class-transformer', 'bullmq', 'prom-client'];

/** Small pure packages the internal libs use: bundled, so the package has no runtime dependencies. */
export const BUNDLED_PACKAGES = ['semver', 'canonicalize', '@noble/hashes', 'murmurhash'];

export function existingEntries() {
  return ENTRIES.filter((e) => existsSync(path.join(SDK_DIR, e.source)));
}

export function missingEntries() {
  return ENTRIES.filter((e) => !existsSync(path.join(SDK_DIR, e.source)));
}

const INTERNAL_SOURCES = ['libs/sdk/src/', 'libs/protocol/src/', 'libs/targeting/src/'].map((p) => path.join(ROOT_DIR, p));
const PURE_PACKAGES = BUNDLED_PACKAGES.map((p) => path.join(ROOT_DIR, 'node_modules', p) + path.sep);

/**
 * An esbuild plugin for every SDK build:
 * - the SDK's own sources, the internal libs and the small packages above are side-effect free
 *   (as the published package declares), so modules an entry does not use are dropped: the
 *   protocol's JSON-schema validator and ajv with it, the engine's validators, semver's index
 *   (without this, the server entry is 29.8 KB min+gzip instead of 22.3 KB);
 * - `semver` resolves to a shim that exports only the class the engine imports from it (see
 *   shims/semver.mjs).
 */
export function sdkEsbuildPlugin() {
  return {
    name: 'flagstream-sdk',
    setup(build) {
      build.onResolve({ filter: /^semver$/ }, () => ({ path: path.join(SDK_DIR, 'scripts/shims/semver.mjs'), sideEffects: false }));
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData?.flagstreamSdk || args.kind === 'entry-point') return undefined;
        const result = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { flagstreamSdk: true },
        });
        if (result.errors.length > 0 || result.external || !path.isAbsolute(result.path)) return undefined;
        const pure = [...INTERNAL_SOURCES, ...PURE_PACKAGES].some((dir) => result.path.startsWith(dir));
        return pure ? { path: result.path, namespace: result.namespace, sideEffects: false } : undefined;
      });
    },
  };
}

export function formatBytes(n) {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(2)} KB`;
}
