import {
  FLAG_LIMITS,
  type FlagDefinitionV1,
  type FlagEnvironmentSettingsV1,
  type ValidationProblem,
} from '@flagstream/protocol';
import { parseAttributePath } from './attribute-path.resolver';
import { clauseProblems } from './clause.checker';

/** Flags of the same environment, as the validators need them. */
export type KnownFlags = ReadonlyMap<string, { definition: FlagDefinitionV1; settings: FlagEnvironmentSettingsV1 }>;

export interface SettingsCheckContext {
  hasSegment(key: string): boolean;
  /** When given, prerequisites must name existing flags and their real variations. */
  flags?: KnownFlags;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function kindProblem(kind: unknown, value: unknown): string | null {
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be a boolean for a boolean flag';
    case 'string':
      if (typeof value !== 'string') return 'must be a string for a string flag';
      return value.length > FLAG_LIMITS.maxStringValueLength ? `must be at most ${FLAG_LIMITS.maxStringValueLength} characters` : null;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a finite number for a number flag';
    case 'json': {
      if (value === undefined) return 'must be a JSON value';
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch {
        return 'must be a JSON value';
      }
      if (text === undefined) return 'must be a JSON value';
      return text.length > FLAG_LIMITS.maxJsonValueLength ? `must serialise to at most ${FLAG_LIMITS.maxJsonValueLength} characters` : null;
    }
    default:
      return null;
  }
}

/**
 * Semantic problems of a flag definition: duplicate variation keys, values not of the flag's kind,
 * and boolean flags that do not have exactly two variations, one true and one false.
 */
export function definitionProblems(def: unknown): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  if (!isRecord(def) || !Array.isArray(def['variations'])) return problems;
  const variations = def['variations'] as unknown[];
  const seen = new Set<string>();
  variations.forEach((variation, index) => {
    if (!isRecord(variation)) return;
    const key = variation['key'];
    if (typeof key === 'string') {
      if (seen.has(key)) problems.push({ path: `variations[${index}].key`, message: `duplicate variation key "${key}"` });
      seen.add(key);
    }
    if ('value' in variation) {
      const problem = kindProblem(def['kind'], variation['value']);
      if (problem) problems.push({ path: `variations[${index}].value`, message: problem });
    }
  });
  if (def['kind'] === 'boolean') {
    const values = variations.map((v) => (isRecord(v) ? v['value'] : undefined));
    if (variations.length !== 2 || !values.includes(true) || !values.includes(false)) {
      problems.push({ path: 'variations', message: 'a boolean flag has exactly two variations, one true and one false' });
    }
  }
  return problems;
}

function variationKeys(def: FlagDefinitionV1): Set<string> {
  return new Set(Array.isArray(def.variations) ? def.variations.map((v) => v?.key) : []);
}

/**
 * Semantic problems of a serve: unknown variations, rollout weights, bucketing attribute, and
 * `untracked` slices outside experiment rollouts. A variation may appear once per rollout; in an
 * experiment rollout, once tracked and once `untracked` (control inside and outside coverage).
 */
export function serveProblems(serve: unknown, path: string, variations: ReadonlySet<string>): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  if (!isRecord(serve)) return problems;
  if (typeof serve['variation'] === 'string' && !variations.has(serve['variation'])) {
    problems.push({ path: `${path}.variation`, message: `unknown variation "${serve['variation']}"` });
  }
  const rollout = serve['rollout'];
  if (!isRecord(rollout)) return problems;
  if (typeof rollout['bucketBy'] === 'string') {
    const parsed = parseAttributePath(rollout['bucketBy']);
    if (typeof parsed === 'string') problems.push({ path: `${path}.rollout.bucketBy`, message: parsed });
  }
  const slices = rollout['variations'];
  if (!Array.isArray(slices)) return problems;
  const experiment = typeof rollout['experiment'] === 'string';
  let sum = 0;
  let summable = true;
  const seen = new Set<string>();
  slices.forEach((slice: unknown, index) => {
    if (!isRecord(slice)) {
      summable = false;
      return;
    }
    const untracked = slice['untracked'] === true;
    if (untracked && !experiment) {
      problems.push({
        path: `${path}.rollout.variations[${index}].untracked`,
        message: 'only a rollout that runs an experiment ("experiment") can have untracked slices',
      });
    }
    const variation = slice['variation'];
    if (typeof variation === 'string') {
      // Tracked and untracked slices of an experiment are told apart, so control may be both.
      const id = experiment && untracked ? `untracked\u0000${variation}` : variation;
      if (!variations.has(variation)) {
        problems.push({ path: `${path}.rollout.variations[${index}].variation`, message: `unknown variation "${variation}"` });
      } else if (seen.has(id)) {
        const which = experiment ? (untracked ? ' untracked' : ' tracked') : '';
        problems.push({ path: `${path}.rollout.variations[${index}].variation`, message: `variation "${variation}" appears twice${which}` });
      }
      seen.add(id);
    }
    const weight = slice['weight'];
    if (typeof weight === 'number' && Number.isInteger(weight) && weight >= 0) sum += weight;
    else summable = false;
  });
  if (summable && slices.length > 0 && sum !== FLAG_LIMITS.bucketScale) {
    problems.push({
      path: `${path}.rollout.variations`,
      message: `weights must sum to ${FLAG_LIMITS.bucketScale} (units of 1/100,000), not ${sum}`,
    });
  }
  return problems;
}

/**
 * Semantic problems of one environment's settings of `def`: unknown variations, rule ids, clause
 * operands, unsafe patterns, unknown segments, rollouts, and (when `context.flags` is given)
 * prerequisites that name unknown flags or variations. Prerequisite cycles are checked separately.
 */
export function settingsProblems(def: FlagDefinitionV1, settings: unknown, context: SettingsCheckContext): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  if (!isRecord(settings)) return problems;
  const variations = variationKeys(def);
  const off = settings['offVariation'];
  if (typeof off === 'string' && !variations.has(off)) {
    problems.push({ path: 'offVariation', message: `unknown variation "${off}"` });
  }
  const prerequisites = settings['prerequisites'];
  if (Array.isArray(prerequisites)) {
    const seen = new Set<string>();
    prerequisites.forEach((prerequisite: unknown, index) => {
      if (!isRecord(prerequisite) || typeof prerequisite['flag'] !== 'string') return;
      const flag = prerequisite['flag'];
      const path = `prerequisites[${index}]`;
      if (flag === def.key) {
        problems.push({ path: `${path}.flag`, message: 'a flag cannot be its own prerequisite' });
        return;
      }
      if (seen.has(flag)) problems.push({ path: `${path}.flag`, message: `prerequisite "${flag}" appears twice` });
      seen.add(flag);
      if (!context.flags) return;
      const target = context.flags.get(flag);
      if (!target) {
        problems.push({ path: `${path}.flag`, message: `unknown flag "${flag}"` });
        return;
      }
      const targetVariations = variationKeys(target.definition);
      const wanted = prerequisite['variations'];
      if (Array.isArray(wanted)) {
        wanted.forEach((variation: unknown, j) => {
          if (typeof variation === 'string' && !targetVariations.has(variation)) {
            problems.push({ path: `${path}.variations[${j}]`, message: `flag "${flag}" has no variation "${variation}"` });
          }
        });
      }
    });
  }
  const rules = settings['rules'];
  if (Array.isArray(rules)) {
    const ids = new Set<string>();
    rules.forEach((rule: unknown, index) => {
      if (!isRecord(rule)) return;
      const path = `rules[${index}]`;
      if (typeof rule['id'] === 'string') {
        if (ids.has(rule['id'])) problems.push({ path: `${path}.id`, message: `duplicate rule id "${rule['id']}"` });
        ids.add(rule['id']);
      }
      if (Array.isArray(rule['clauses'])) {
        (rule['clauses'] as unknown[]).forEach((clause, j) => {
          problems.push(...clauseProblems(clause, `${path}.clauses[${j}]`, context.hasSegment));
        });
      }
      problems.push(...serveProblems(rule['serve'], `${path}.serve`, variations));
    });
  }
  problems.push(...serveProblems(settings['defaultServe'], 'defaultServe', variations));
  return problems;
}
