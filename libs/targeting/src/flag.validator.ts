import {
  checkFlagSchemaV1,
  FLAG_LIMITS,
  type FlagDefinitionV1,
  type PrerequisiteV1,
  appendPath,
  type SegmentDefinitionV1,
  type ValidationProblem,
} from '@flagstream/protocol';
import { definitionProblems, settingsProblems, type KnownFlags } from './flag.checker';

/** What else exists in the environment, for cross-reference checks. */
export interface KnownEnvironmentEntities {
  segments: ReadonlyMap<string, SegmentDefinitionV1>;
  flags: KnownFlags;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Every problem with a flag definition (untrusted JSON): the JSON Schema (key slug, kind, sizes,
 * unknown properties), then duplicate variation keys, values not of the flag's kind, and boolean
 * flags without exactly two variations (one true, one false).
 */
export function validateFlagDefinition(def: unknown): ValidationProblem[] {
  return [...checkFlagSchemaV1('flagDefinition', def), ...definitionProblems(def)];
}

/** The prerequisite chain from `start` that returns to it, or that is too deep, as flag keys. */
function prerequisiteTrouble(
  start: string,
  first: string,
  prerequisitesOf: (key: string) => readonly string[],
): { cycle?: string[]; tooDeep?: string[] } {
  // Depth-first search over the prerequisite graph, tracking the current path.
  const path = [start, first];
  const done = new Set<string>();
  const visit = (key: string): { cycle?: string[]; tooDeep?: string[] } => {
    if (path.length - 1 > FLAG_LIMITS.maxPrerequisiteDepth) return { tooDeep: [...path] };
    for (const next of prerequisitesOf(key)) {
      if (next === start || path.includes(next)) return { cycle: [...path, next] };
      if (done.has(next)) continue;
      path.push(next);
      const found = visit(next);
      path.pop();
      if (found.cycle || found.tooDeep) return found;
      done.add(next);
    }
    return {};
  };
  return visit(first);
}

/** Semantic problems of settings plus prerequisite cycles and depth (no schema). */
function environmentProblems(flag: FlagDefinitionV1, settings: unknown, known: KnownEnvironmentEntities): ValidationProblem[] {
  const problems = settingsProblems(flag, settings, { hasSegment: (key) => known.segments.has(key), flags: known.flags });
  if (!isRecord(settings) || !Array.isArray(settings['prerequisites'])) return problems;
  const own = (settings['prerequisites'] as unknown[]).map((p) =>
    isRecord(p) && typeof p['flag'] === 'string' ? p['flag'] : undefined,
  );
  const prerequisitesOf = (key: string): string[] => {
    if (key === flag.key) return own.filter((k): k is string => k !== undefined);
    const entry = known.flags.get(key);
    const list: unknown = entry?.settings?.prerequisites;
    return Array.isArray(list) ? list.map((p: PrerequisiteV1) => p.flag) : [];
  };
  own.forEach((first, index) => {
    if (first === undefined || first === flag.key || !known.flags.has(first)) return;
    const trouble = prerequisiteTrouble(flag.key, first, prerequisitesOf);
    if (trouble.cycle) {
      problems.push({ path: `prerequisites[${index}].flag`, message: `prerequisite cycle: ${trouble.cycle.join(' -> ')}` });
    } else if (trouble.tooDeep) {
      problems.push({
        path: `prerequisites[${index}].flag`,
        message: `prerequisites nest deeper than ${FLAG_LIMITS.maxPrerequisiteDepth}: ${trouble.tooDeep.join(' -> ')}`,
      });
    }
  });
  return problems;
}

/**
 * Every problem with one environment's settings of `flag` (untrusted JSON), in the context of that
 * environment: schema, unknown variations, duplicate rule ids, operand types, unsafe patterns,
 * unknown segments, weights not summing to 100,000, and prerequisites that name unknown flags or
 * variations, form a cycle (with these settings substituted for the flag's current ones) or nest
 * deeper than FLAG_LIMITS.maxPrerequisiteDepth.
 */
export function validateFlagEnvironment(
  flag: FlagDefinitionV1,
  settings: unknown,
  known: KnownEnvironmentEntities,
): ValidationProblem[] {
  return [...checkFlagSchemaV1('flagEnvironmentSettings', settings), ...environmentProblems(flag, settings, known)];
}

/** The known entities of each environment, keyed by environment key. */
export type KnownEntitiesByEnvironment = ReadonlyMap<string, KnownEnvironmentEntities>;

/**
 * Every problem with a whole flag (definition plus settings per environment), with paths relative
 * to the flag (`environments.prod.rules[0]...`). An environment missing from `known` is checked as
 * an empty one, so its segment and prerequisite references are reported unknown.
 */
export function validateFlag(flag: unknown, known: KnownEntitiesByEnvironment = new Map()): ValidationProblem[] {
  const problems = [...checkFlagSchemaV1('flag', flag), ...definitionProblems(flag)];
  if (!isRecord(flag) || !isRecord(flag['environments'])) return problems;
  const def = flag as unknown as FlagDefinitionV1;
  const empty: KnownEnvironmentEntities = { segments: new Map(), flags: new Map() };
  for (const [environment, settings] of Object.entries(flag['environments'])) {
    const prefix = appendPath('environments', environment);
    for (const problem of environmentProblems(def, settings, known.get(environment) ?? empty)) {
      problems.push({ path: problem.path ? `${prefix}.${problem.path}` : prefix, message: problem.message });
    }
  }
  return problems;
}
