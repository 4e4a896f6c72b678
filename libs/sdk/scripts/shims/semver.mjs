// `semver` as the SDK bundles it: only the class that libs/targeting imports from the package's
// index. Today the engine uses `SemVer` as a type (and re-exports it), so the side-effect-free
// marking in sdk-entries.mjs already drops the index; this keeps it that way if the class is ever
// used as a value: the index requires every function and range module (CommonJS, so no tree
// shaking): measured +20 KB minified, +6.5 KB min+gzip.
export { default as SemVer } from 'semver/classes/semver.js';
