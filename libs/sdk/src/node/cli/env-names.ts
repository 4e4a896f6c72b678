import { CliRunError } from './cli.errors';
import { isDeniedEnvName } from './env-denylist';
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

/** What `environmentFor` checks the names against, besides their shape and each other. */
export interface EnvironmentRules {
  /** Prepended to every name (`--env-prefix`), as given. */
  prefix: string;
  /** Names the run sets itself (the SDK key's variable, `FLAGSTREAM_SECRETS_FD`…): never delivered. */
  reserved: readonly string[];
  /** The environment the child inherits from the CLI: a delivered name already in it would silently replace it. */
  inherited: Readonly<Record<string, string | undefined>>;
  /** Inherited names that a delivered value may replace (`--allow-override`). Does not reach `reserved` or the denylist. */
  allowOverride: readonly string[];
  /** Compare names with `inherited` and `allowOverride` without regard to case, as Windows does. */
  ignoreCase?: boolean;
}

/**
 * The variables `--mode env` adds to the child's environment, by name. Refuses, naming the paths
 * and variables involved (never a value, delivered or inherited): two sources mapping to one name,
 * a name a shell cannot use (a path starting with a digit, without a prefix), a name the run
 * itself uses, a name on `ENV_DENYLIST` (those change how programs load or run: whoever can
 * write the secret could run code in the child), a name the child would inherit anyway unless
 * `allowOverride` lists it (the value would silently replace the inherited one), and a value with
 * a NUL character (no environment variable can hold one). Config values that are not strings are
 * JSON (`{"maxItems":50}`, `true`, `42`).
 */
export function environmentFor(values: RunValues, rules: EnvironmentRules): Record<string, string> {
  const fold = (name: string) => (rules.ignoreCase ? name.toUpperCase() : name);
  const inherited = new Set(Object.keys(rules.inherited).filter((name) => rules.inherited[name] !== undefined).map(fold));
  const allowed = new Set(rules.allowOverride.map(fold));
  const origins = new Map<string, Origin>();
  const out: Record<string, string> = {};
  const add = (origin: Origin, value: string) => {
    const name = envNameFor(origin.id, rules.prefix);
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
    if (rules.reserved.includes(name)) {
      throw new CliRunError(`${what} maps to the environment variable ${name}, which flagstream run uses itself: pass --env-prefix`);
    }
    if (isDeniedEnvName(name)) {
      const leaveOut = origin.kind === 'secret' ? 'leave it out with --secrets' : 'leave it out of --config';
      throw new CliRunError(
        `${what} maps to the environment variable ${name}, which changes how programs load or run, so flagstream run never sets it (whoever can write the ${origin.kind} could run code in the child): pass --env-prefix, ${leaveOut}, or use --mode pipe`,
      );
    }
    if (inherited.has(fold(name)) && !allowed.has(fold(name))) {
      throw new CliRunError(
        `${what} maps to the environment variable ${name}, which is already set in flagstream run's environment and would be replaced: pass --allow-override ${name} to replace it, pass --env-prefix, or use --mode pipe`,
      );
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
