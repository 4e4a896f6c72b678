/**
 * The values one child is started with, read from the SDK client. They live in this process's
 * memory only: never in a file, a log line or a message.
 */
export interface RunValues {
  /** Secret values by path (`payments/stripe/api-key`), sorted by path. */
  readonly secrets: ReadonlyMap<string, string>;
  /** Config values by key (`checkout.limits`), as JSON values, in the order asked for. */
  readonly config: ReadonlyMap<string, unknown>;
}

/**
 * The document `--mode pipe` and `--mode socket` hand to the child:
 * `{"secrets": {"<path>": "<value>"}, "config": {"<key>": <JSON value>}}`. Paths stay paths (no
 * name mapping, so no collisions), config values stay typed JSON.
 */
export function secretsPayload(values: RunValues): string {
  return JSON.stringify({ secrets: Object.fromEntries(values.secrets), config: Object.fromEntries(values.config) });
}

/**
 * Whether two reads hold the same values, so that `--watch` does not restart the child for a
 * notice that changed nothing it gets (a write to another path, a config item not selected).
 */
export function sameValues(a: RunValues, b: RunValues): boolean {
  if (a.secrets.size !== b.secrets.size || a.config.size !== b.config.size) return false;
  for (const [path, value] of a.secrets) if (b.secrets.get(path) !== value) return false;
  for (const [key, value] of a.config) {
    if (!b.config.has(key) || JSON.stringify(value) !== JSON.stringify(b.config.get(key))) return false;
  }
  return true;
}
