import type { ClauseV1 } from '../flags';

/**
 * How the layers of a config item combine (docs/configuration.md):
 * - `replace`: the strongest layer that has a value wins whole;
 * - `merge`: the layers are applied weakest first as JSON Merge Patches (RFC 7396): objects merge
 *   key by key, recursively; anything else (arrays, strings, numbers...) replaces; `null` in a
 *   stronger layer removes the key.
 */
export type ConfigMergeStrategy = 'replace' | 'merge';

export const CONFIG_MERGE_STRATEGIES: readonly ConfigMergeStrategy[] = ['replace', 'merge'];

/** Where a layer applies, from weakest to strongest. */
export type ConfigLayerScope = 'default' | 'environment' | 'tenant' | 'targeted';

/**
 * One value of a config item at one place of the hierarchy.
 * - `default`: the project default (no environment);
 * - `environment`: an environment of the chain;
 * - `tenant`: a tenant override (`tenant`) at an environment of the chain;
 * - `targeted`: a rule (`clauses`, all must hold, as in flag rules) at an environment; within an
 *   environment the first matching rule in `order` applies.
 */
export interface ConfigLayerV1 {
  scope: ConfigLayerScope;
  /** The environment key; absent for `default`. */
  environment?: string;
  /** For `tenant` layers. */
  tenant?: string;
  /** For `targeted` layers: a stable id and the clauses that must all hold. */
  ruleId?: string;
  clauses?: ClauseV1[];
  /** For `targeted` layers: position among the environment's rules (lower first). */
  order?: number;
  value: unknown;
  /** The item's version that last wrote this layer. */
  version: number;
}

/** A config item as delivered to SDKs: its definition and the layers that reach an environment. */
export interface ConfigItemSnapshotV1 {
  key: string;
  /** Increases with every change of the item (value or schema). */
  version: number;
  merge: ConfigMergeStrategy;
  clientVisible: boolean;
  /** The context attribute that names the tenant (the project's setting, `tenantId` by default). */
  tenantAttribute: string;
  /**
   * The root-first chain of environment keys the layers refer to, ending with the environment
   * being served (`["prod", "prod-eu"]`).
   */
  chain: string[];
  layers: ConfigLayerV1[];
}

/**
 * Config keys are dotted paths of segments (`payments.limits.maxTransfer`): each segment starts with
 * a letter and holds letters, digits, `_` or `-`; at most 200 characters and 16 segments.
 */
export const CONFIG_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*){0,15}$/;
export const CONFIG_KEY_MAX_LENGTH = 200;

/** True when `value` is a valid config key. */
export function isValidConfigKey(value: unknown): value is string {
  return typeof value === 'string' && value.length <= CONFIG_KEY_MAX_LENGTH && CONFIG_KEY_PATTERN.test(value);
}
