// Builds @flagstream/sdk (build.mjs) and packs it with `npm pack` into dist/sdk/. The last line
// printed is the tarball's absolute path.
//
//   node libs/sdk/scripts/pack.mjs
import console from 'node:console';
import process from 'node:process';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildSdk } from './build.mjs';
import { PACK_DIR, STAGE_DIR } from './sdk-entries.mjs';

/** Builds and packs; returns the tarball's absolute path and what npm put in it. */
export async function packSdk({ silent = false } = {}) {
  await buildSdk({ silent });
  const { stdout } = await promisify(execFile)('npm', ['pack', STAGE_DIR, '--pack-destination', PACK_DIR, '--json', '--ignore-scripts'], {
    cwd: PACK_DIR,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  const [info] = JSON.parse(stdout);
  return { tarball: path.join(PACK_DIR, info.filename), files: info.files.map((f) => f.path).sort(), size: info.size, unpackedSize: info.unpackedSize };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const { tarball, files, size, unpackedSize } = await packSdk();
    console.log(`sdk:pack: ${files.length} files, ${size} bytes packed, ${unpackedSize} unpacked`);
    console.log(tarball);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
