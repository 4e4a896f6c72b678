import { runCommand, type CliIo } from './run.command';

/** `flagstream`'s own help: the commands it has. */
export const CLI_USAGE = `usage: flagstream <command> [options]

commands:
  run    start a program with the secrets (and config items) its server SDK key may read,
         never written to disk (flagstream run --help)
`;

/**
 * The `flagstream` command line (the package's bin): dispatches to a command and returns the exit
 * code (2 for an unknown command or missing one, as for every usage error).
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'run') return runCommand(rest, io);
  if (command === '-h' || command === '--help' || command === 'help') {
    io.stdout(CLI_USAGE);
    return 0;
  }
  io.stderr(command === undefined ? CLI_USAGE : `flagstream: unknown command "${command}"\n${CLI_USAGE}`);
  return 2;
}
