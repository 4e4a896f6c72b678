import { CliRunError } from './cli.errors';
import type { RunValues } from './run-values';

/** What an environment variable name must look like to be usable from a shell (`$NAME`). */
const PORTABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The environment variable for a secret path or a config key: upper case, with every `/`, `.`
 * and `-` turned into `_`, after `prefix` (as given). `payments/stripe/api-key` becomes
 * `PAYMENTS_STRIPE_API_KEY`, `checkout.limits` becomes `CHECKOUT_LIMITS`, and with the prefix
 * `APP_`, `APP_PAYMENTS_STRIPE_API_KEY`. Several paths can give one name (`a/b-c`, `a/b/c`,
 * `a.b/c`): `environmentFor` refuses those.
 */
export function envNameFor(pathOrKey: string, prefix = ''): string {
  return prefix + pathOrKey.toUpperCase().replace(/[/.-]/g, '_');
}

/** One variable to set and where its value comes from (for messages: paths are not secret). */
interface Origin {
  kind: 'secret' | 'config item';
  id: string;
}

/**
 * The variables `--mode env` adds to the child's environment, by name. Refuses, naming the paths
 * involved (never a value): two sources mapping to one name, a name a shell cannot use (a path
 * starting with a digit, without a prefix), a name the run itself uses (`reserved`: the SDK key's
 * variable, `FLAGSTREAM_SECRETS_FD`…), and a value with a NUL character (no environment variable
 * can hold one). Config values that are not strings are JSON (`{"maxItems":50}`, `true`, `42`).
 */
export function environmentFor(values: RunValues, prefix: string, reserved: readonly string[]): Record<string, string> {
  const origins = new Map<string, Origin>();
  const out: Record<string, string> = {};
  const add = (origin: Origin, value: string) => {
    const name = envNameFor(origin.id, prefix);
    const what = `${origin.kind} "${origin.id}"`;
    if (!PORTABLE_NAME.test(name)) {
      throw new CliRunError(`${what} maps to the environment variable ${name}, which a shell cannot use (it starts with a digit): pass --env-prefix, or use --mode pipe`);
    }
    const other = origins.get(name);
    if (other) {
      throw new CliRunError(
        `${other.kind} "${other.id}" and ${what} both map to the environment variable ${name}: select one of them with --secrets/--config, or use --mode pipe (which keeps paths)`,
      );
    }
    if (reserved.includes(name)) {
      throw new CliRunError(`${what} maps to the environment variable ${name}, which flagstream run uses itself: pass --env-prefix`);
    }
    if (value.includes('\0')) {
      throw new CliRunError(`${what} holds a NUL character, which no environment variable can carry: use --mode pipe or --mode socket`);
    }
    origins.set(name, origin);
    out[name] = value;
  };
  for (const [path, value] of values.secrets) add({ kind: 'secret', id: path }, value);
  for (const [key, value] of values.config) add({ kind: 'config item', id: key }, typeof value === 'string' ? value : JSON.stringify(value));
  return out;
}
