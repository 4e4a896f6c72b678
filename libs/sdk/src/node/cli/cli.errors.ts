/**
 * The CLI was called wrongly (an unknown or malformed flag, no command, no SDK key in the
 * environment): fixing the command line fixes it, so the CLI exits with 2, as shells do for usage
 * errors. Messages name flags and variables, never a value.
 */
export class CliUsageError extends Error {
  /** The process exit code for this failure. */
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/**
 * The run could not go on (the gateway refused the key or does not serve secrets, a pattern
 * matches nothing, two names collide, a name is denied or already set, the command cannot start):
 * exit code 1. Messages name paths, keys and variable names (not secret), never a value.
 */
export class CliRunError extends Error {
  /** The process exit code for this failure. */
  readonly exitCode = 1;

  constructor(message: string) {
    super(message);
    this.name = 'CliRunError';
  }
}
