import type {
  EvaluationResultV1,
  FlagKind,
  FlagSnapshotV1,
  ServeV1,
} from '@flagstream/protocol';
import { bucketFromPrefix, bucketPrefix } from './bucket.hash';
import { allHold, compileClause, CompileError, type ClauseInterner, type CompiledClause } from './clause.compiler';
import { AttributeRef, parseAttributePath } from './attribute-path.resolver';
import { errorResult, frozenCopy, makeResult, type ResultDetails } from './evaluation-result.factory';
import { definitionProblems, settingsProblems } from './flag.checker';
import type { Murmur3State } from './murmur3.hash';
import type { SegmentCompiler } from './segment.compiler';

type Context = Readonly<Record<string, unknown>>;

/** How a compiled flag reaches its prerequisites (the evaluator, which applies the depth guard). */
export interface PrerequisiteSource {
  evaluatePrerequisite(flagKey: string, context: Context, depth: number): EvaluationResultV1 | undefined;
}

const TARGETING_KEY_PATH = ['targetingKey'];

/** A fixed variation or a rollout, with every possible result precomputed. */
class CompiledServe {
  constructor(
    private readonly fixed: EvaluationResultV1 | null,
    private readonly attribute: AttributeRef | null,
    private readonly prefix: Murmur3State | null,
    private readonly thresholds: readonly number[],
    private readonly results: readonly EvaluationResultV1[],
    private readonly missing: EvaluationResultV1 | null,
  ) {}

  static fixed(result: EvaluationResultV1): CompiledServe {
    return new CompiledServe(result, null, null, [], [], null);
  }

  static rollout(
    attribute: AttributeRef,
    prefix: Murmur3State,
    thresholds: readonly number[],
    results: readonly EvaluationResultV1[],
    missing: EvaluationResultV1,
  ): CompiledServe {
    return new CompiledServe(null, attribute, prefix, thresholds, results, missing);
  }

  resolve(context: Context): EvaluationResultV1 {
    if (this.fixed !== null) return this.fixed;
    const value = this.attribute!.read(context);
    let bucketValue: string;
    if (typeof value === 'string') {
      if (value.length === 0) return this.missing!;
      bucketValue = value;
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      bucketValue = String(value);
    } else {
      return this.missing!;
    }
    const bucket = bucketFromPrefix(this.prefix!, bucketValue);
    const thresholds = this.thresholds;
    for (let i = 0; i < thresholds.length; i++) if (bucket < thresholds[i]!) return this.results[i]!;
    return this.results[this.results.length - 1]!;
  }
}

interface CompiledRule {
  readonly clauses: readonly CompiledClause[];
  readonly serve: CompiledServe;
}

interface CompiledPrerequisite {
  readonly key: string;
  readonly variations: ReadonlySet<string>;
  readonly unmet: EvaluationResultV1;
}

/** A flag compiled for one environment; `evaluate` never allocates except on errors. */
export class CompiledFlag {
  /** The result when it does not depend on the context (broken, off or static), else null. */
  readonly fixedResult: EvaluationResultV1 | null;

  constructor(
    readonly key: string,
    readonly kind: FlagKind,
    readonly clientVisible: boolean,
    readonly version: number,
    /** Segments the flag's rules use (directly), to recompile it when one changes. */
    readonly segmentKeys: ReadonlySet<string>,
    /** Why the flag could not be compiled; it then evaluates to ERROR / PARSE_ERROR. */
    readonly problem: string | undefined,
    private readonly broken: EvaluationResultV1 | null,
    private readonly on: boolean,
    private readonly offResult: EvaluationResultV1 | null,
    private readonly staticResult: EvaluationResultV1 | null,
    private readonly prerequisites: readonly CompiledPrerequisite[],
    private readonly rules: readonly CompiledRule[],
    private readonly defaultServe: CompiledServe | null,
  ) {
    this.fixedResult = broken ?? (on ? staticResult : offResult);
  }

  evaluate(context: Context, depth: number, source: PrerequisiteSource): EvaluationResultV1 {
    if (this.broken !== null) return this.broken;
    if (!this.on) return this.offResult!;
    if (this.staticResult !== null) return this.staticResult;
    const prerequisites = this.prerequisites;
    for (let i = 0; i < prerequisites.length; i++) {
      const prerequisite = prerequisites[i]!;
      const result = source.evaluatePrerequisite(prerequisite.key, context, depth + 1);
      if (result === undefined) return prerequisite.unmet;
      if (result.reason === 'ERROR') {
        return errorResult(this.key, result.errorCode ?? 'GENERAL', `prerequisite "${prerequisite.key}": ${result.errorMessage ?? 'error'}`);
      }
      if (!prerequisite.variations.has(result.variation!)) return prerequisite.unmet;
    }
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (allHold(rule.clauses, context)) return rule.serve.resolve(context);
    }
    return this.defaultServe!.resolve(context);
  }
}

function brokenFlag(flag: FlagSnapshotV1, segmentKeys: ReadonlySet<string>, problem: string): CompiledFlag {
  const key = typeof flag?.key === 'string' ? flag.key : '';
  const result = errorResult(key, 'PARSE_ERROR', `flag "${key}" is invalid: ${problem}`);
  return new CompiledFlag(
    key,
    flag?.kind ?? 'json',
    flag?.clientVisible === true,
    typeof flag?.version === 'number' ? flag.version : 0,
    segmentKeys,
    problem,
    result,
    false,
    null,
    null,
    [],
    [],
    null,
  );
}

/** Segment keys used by a flag's rules. */
export function flagSegmentKeys(flag: FlagSnapshotV1): Set<string> {
  const out = new Set<string>();
  for (const rule of flag?.settings?.rules ?? []) {
    for (const clause of rule?.clauses ?? []) {
      if (clause?.operator === 'inSegment') for (const v of clause.values ?? []) out.add(String(v));
    }
  }
  return out;
}

/**
 * Compiles one flag of a snapshot. Never throws: a flag that breaks the model (unknown variation,
 * bad operand, unknown or broken segment, malformed JSON) compiles to one that evaluates to
 * ERROR / PARSE_ERROR, with the reason in `problem`.
 */
export function compileFlag(flag: FlagSnapshotV1, segments: SegmentCompiler, interner?: ClauseInterner): CompiledFlag {
  let segmentKeys = new Set<string>();
  try {
    segmentKeys = flagSegmentKeys(flag);
    const problems = [
      ...definitionProblems(flag),
      ...settingsProblems(flag, flag.settings, { hasSegment: (key) => segments.get(key) !== undefined }),
    ];
    if (problems.length > 0) {
      const first = problems[0]!;
      const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
      return brokenFlag(flag, segmentKeys, `${first.path ? `${first.path}: ` : ''}${first.message}${more}`);
    }
    return build(flag, segmentKeys, segments, interner);
  } catch (error) {
    const message = error instanceof CompileError ? error.message : `malformed flag (${error instanceof Error ? error.message : String(error)})`;
    return brokenFlag(flag, segmentKeys, message);
  }
}

function build(flag: FlagSnapshotV1, segmentKeys: ReadonlySet<string>, segments: SegmentCompiler, interner: ClauseInterner | undefined): CompiledFlag {
  const { key, settings } = flag;
  if (typeof key !== 'string' || !Array.isArray(flag.variations)) throw new CompileError('malformed flag');
  const values = new Map<string, unknown>();
  for (const variation of flag.variations) values.set(variation.key, frozenCopy(variation.value));
  const result = (variation: string, reason: EvaluationResultV1['reason'], details?: ResultDetails): EvaluationResultV1 => {
    if (!values.has(variation)) throw new CompileError(`unknown variation "${variation}"`);
    return makeResult(key, values.get(variation), variation, reason, details);
  };
  const serve = (spec: ServeV1, ruleId: string | undefined): CompiledServe => {
    if (spec.rollout === undefined) {
      if (typeof spec.variation !== 'string') throw new CompileError('serve needs a variation or a rollout');
      return CompiledServe.fixed(result(spec.variation, ruleId === undefined ? 'DEFAULT' : 'TARGETING_MATCH', { ruleId }));
    }
    const rollout = spec.rollout;
    const path = parseAttributePath(rollout.bucketBy ?? 'targetingKey');
    if (typeof path === 'string') throw new CompileError(`bucketBy ${path}`);
    const attribute = rollout.bucketBy ?? 'targetingKey';
    // The marker is part of the precomputed result of each slice: it never changes the buckets.
    const experiment = typeof rollout.experiment === 'string' ? rollout.experiment : undefined;
    const tracked: ResultDetails = { ruleId, experiment, experimentUnit: experiment !== undefined && attribute !== 'targetingKey' ? attribute : undefined };
    const thresholds: number[] = [];
    const results: EvaluationResultV1[] = [];
    let cumulative = 0;
    for (const slice of rollout.variations) {
      if (!Number.isInteger(slice.weight) || slice.weight < 0) throw new CompileError('weights must be non-negative integers');
      cumulative += slice.weight;
      thresholds.push(cumulative);
      results.push(result(slice.variation, 'SPLIT', slice.untracked === true ? { ruleId } : tracked));
    }
    if (cumulative !== 100_000) throw new CompileError('weights must sum to 100000');
    const missing = errorResult(
      key,
      'TARGETING_KEY_MISSING',
      `the context has no "${attribute}" (a non-empty string or a finite number) to bucket by`,
    );
    const salt = rollout.seed ?? settings.salt;
    if (typeof salt !== 'string') throw new CompileError('salt must be a string');
    return CompiledServe.rollout(new AttributeRef(path.length === 0 ? TARGETING_KEY_PATH : path), bucketPrefix(salt), thresholds, results, missing);
  };

  const offResult = result(settings.offVariation, 'DISABLED');
  const prerequisites = settings.prerequisites.map((p) => ({
    key: p.flag,
    variations: new Set(p.variations),
    unmet: result(settings.offVariation, 'DISABLED', { prerequisite: p.flag }),
  }));
  const rules = settings.rules.map((rule) => ({
    clauses: rule.clauses.map((clause) => compileClause(clause, (ref) => segments.require(ref), interner)),
    serve: serve(rule.serve, rule.id),
  }));
  const defaultServe = serve(settings.defaultServe, undefined);
  const isStatic = settings.on === true && prerequisites.length === 0 && rules.length === 0 && settings.defaultServe.rollout === undefined;
  return new CompiledFlag(
    key,
    flag.kind,
    flag.clientVisible === true,
    typeof flag.version === 'number' ? flag.version : 0,
    segmentKeys,
    undefined,
    null,
    settings.on === true,
    offResult,
    isStatic ? result(settings.defaultServe.variation!, 'STATIC') : null,
    prerequisites,
    rules,
    defaultServe,
  );
}
