/** The import graph of STYLE.md, enforced by `npm run lint:deps`. */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular imports make initialisation order fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'apps-never-import-apps',
      severity: 'error',
      comment: 'Apps talk through Postgres, Redis and queues, never through imports.',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'libs-never-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'libs-only-through-index',
      severity: 'error',
      comment: 'Import a lib through its @flagstream/<lib> alias (its index.ts), never a deep path.',
      from: { path: '^(apps|libs|test|bench)/([^/]+)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^libs/$2/', '^libs/[^/]+/src/index\\.ts$', '^libs/sdk/src/(client|openfeature|openfeature-web|socket-io)/index\\.ts$'] },
    },
    {
      name: 'only-persistence-imports-typeorm',
      severity: 'error',
      comment: 'Repositories in libs/persistence hide TypeORM from everything else.',
      from: { pathNot: '^(libs/persistence|libs/testing)/' },
      to: { dependencyTypes: ['npm', 'npm-dev'], path: '^node_modules/(typeorm|@nestjs/typeorm)/' },
    },
    {
      name: 'protocol-imports-no-lib',
      severity: 'error',
      from: { path: '^libs/protocol/' },
      to: { path: '^(libs|apps)/', pathNot: '^libs/protocol/' },
    },
    {
      name: 'targeting-imports-only-protocol',
      severity: 'error',
      comment: 'The engine runs in browsers: only the protocol lib and small pure packages.',
      from: { path: '^libs/targeting/' },
      to: { path: '^(libs|apps)/', pathNot: '^libs/(targeting|protocol)/' },
    },
    {
      name: 'targeting-and-protocol-stay-portable',
      severity: 'error',
      comment: 'No Nest, no Node built-ins, no I/O libraries in code that must run in a browser.',
      from: { path: '^libs/(targeting|protocol)/src/', pathNot: '\\.spec\\.ts$' },
      to: {
        dependencyTypesNot: ['local', 'aliased-tsconfig', 'aliased-tsconfig-paths', 'type-only'],
        pathNot: '^node_modules/(semver|murmurhash|ajv|ajv-formats|canonicalize|@noble/hashes)/',
      },
    },
    {
      name: 'sdk-imports-only-protocol-and-targeting',
      severity: 'error',
      comment: 'The SDK is published alone: no Nest, TypeORM, Redis or other project libs.',
      from: { path: '^libs/sdk/src/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^(libs|apps)/', pathNot: '^libs/(sdk|protocol|targeting)/' },
    },
    {
      name: 'sdk-stays-portable',
      severity: 'error',
      comment: 'The SDK runs in browsers: no Node built-ins and no server packages in its core.',
      from: { path: '^libs/sdk/src/', pathNot: ['\\.spec\\.ts$', '^libs/sdk/src/(node|openfeature|openfeature-web|socket-io)/'] },
      to: {
        dependencyTypesNot: ['local', 'aliased-tsconfig', 'aliased-tsconfig-paths', 'type-only'],
        pathNot: '^node_modules/(semver|murmurhash|canonicalize|@noble/hashes)/',
      },
    },
    {
      name: 'sdk-adapters-import-only-their-peer',
      severity: 'error',
      comment: 'Each optional entry point may add exactly one peer package (an optional peer dependency of the published SDK).',
      from: { path: '^libs/sdk/src/(openfeature|openfeature-web|socket-io)/', pathNot: '\\.spec\\.ts$' },
      to: {
        dependencyTypesNot: ['local', 'aliased-tsconfig', 'aliased-tsconfig-paths', 'type-only'],
        pathNot: '^node_modules/(@openfeature/server-sdk|@openfeature/web-sdk|@openfeature/core|socket\\.io-client|engine\\.io-client|@socket\\.io/component-emitter|semver|murmurhash|canonicalize|@noble/hashes)/',
      },
    },
    {
      name: 'sdk-client-mode-stays-small',
      severity: 'error',
      comment: 'Client (browser) mode gets evaluated values: it must not pull in the targeting engine (bundle size).',
      from: { path: '^libs/sdk/src/(client|openfeature-web)/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^(libs/targeting/|libs/sdk/src/(flagstream-client|index|node/))' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
