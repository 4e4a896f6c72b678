// The `flagstream` executable of @flagstream/sdk (built to dist/cli/flagstream.js with a
// `#!/usr/bin/env node` line by libs/sdk/scripts/build.mjs).
import { main } from './flagstream.cli';

main(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; should anything still hold the event loop, do not hang on it.
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (error: unknown) => {
    // Not a value: the CLI's errors never carry one, and this is the name and code only.
    const e = error as NodeJS.ErrnoException;
    process.stderr.write(`flagstream: unexpected ${e?.name ?? 'error'}${e?.code ? ` (${e.code})` : ''}\n`);
    process.exit(1);
  },
);
