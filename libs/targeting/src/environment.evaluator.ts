import {
  FLAG_LIMITS,
  type EnvironmentSnapshotV1,
  type EvaluationResultV1,
  type FlagKind,
  type FlagSnapshotV1,
  type SegmentDefinitionV1,
} from '@flagstream/protocol';
import { nextEvaluationPass, type ClauseInterner } from './clause.compiler';
import { errorResult } from './evaluation-result.factory';
import { compileFlag, type CompiledFlag, type PrerequisiteSource } from './flag.compiler';
import { primeMurmur3Text } from './murmur3.hash';
import { SegmentCompiler, type CompiledSegment } from './segment.compiler';

type Context = Readonly<Record<string, unknown>>;

/** Options of a single evaluation. */
export interface EvaluateOptions {
  /** The kind the caller expects; a flag of another kind gives ERROR / TYPE_MISMATCH. */
  kind?: FlagKind;
  /** The value of ERROR results (default null). */
  defaultValue?: unknown;
}

/** Options of a bulk evaluation. */
export interface EvaluateAllOptions {
  /** Only flags marked client-visible (for client-side SDK keys). */
  clientVisibleOnly?: boolean;
}

/**
 * A change to apply to a compiled environment: flags and segments created or replaced (whole),
 * and keys removed. Only the changed flags, the segments that changed or use a changed segment,
 * and the flags that use those segments are recompiled.
 */
export interface SnapshotPatch {
  revision: number;
  flags?: FlagSnapshotV1[];
  removedFlags?: string[];
  segments?: SegmentDefinitionV1[];
  removedSegments?: string[];
}

/** Options of `compile`. */
export interface CompileOptions {
  /**
   * Compile each flag on its first use (evaluation, prerequisite, `evaluateAll`, `problems`,
   * `compiledFlag`) instead of all of them up front, memoised per evaluator; `apply` keeps the
   * evaluator lazy. Results are identical; only when the work happens differs, so a process that
   * starts from a large snapshot can serve its first evaluation sooner. Segments are compiled up
   * front either way (their compilation order is part of their semantics). Default false.
   */
  lazy?: boolean;
}

/** A flag or segment of the snapshot that could not be compiled, and why. */
export interface CompileProblem {
  flag: string;
  message: string;
}

const EMPTY_CONTEXT: Context = Object.freeze({});

function asContext(context: unknown): Context {
  return context !== null && typeof context === 'object' && !Array.isArray(context) ? (context as Context) : EMPTY_CONTEXT;
}

/**
 * The compiled flags and segments of one environment at one revision. Immutable: `apply` returns a
 * new evaluator and leaves this one usable by evaluations in flight (a lazy evaluator memoises the
 * flags it compiles on first use, which changes no result). Evaluation never throws.
 */
export class EnvironmentEvaluator implements PrerequisiteSource {
  /** Keys of the flags, sorted (built on first need). */
  private keys: readonly string[] | null = null;
  /** Every flag compiled, sorted by key (built on first need). */
  private ordered: readonly CompiledFlag[] | null = null;
  private visible: readonly CompiledFlag[] | null = null;

  private constructor(
    readonly environment: string,
    readonly revision: number,
    /** Compiled flags: all of them, or (lazy) those compiled so far. */
    private readonly flags: Map<string, CompiledFlag>,
    private readonly flagSources: ReadonlyMap<string, FlagSnapshotV1>,
    private readonly segmentSources: ReadonlyMap<string, SegmentDefinitionV1>,
    private readonly segments: ReadonlyMap<string, CompiledSegment>,
    /** Shared with the evaluators `apply` derives; it only grows until the next full compile. */
    private readonly interner: ClauseInterner,
    /** Compiles the flags of a lazy evaluator over its (already compiled) segments; null when eager. */
    private readonly compiler: SegmentCompiler | null,
  ) {}

  /** Compiles a whole snapshot. Never throws; invalid flags are listed by `problems()`. */
  static compile(snapshot: EnvironmentSnapshotV1, options?: CompileOptions): EnvironmentEvaluator {
    const segmentSources = new Map<string, SegmentDefinitionV1>();
    for (const segment of snapshot?.segments ?? []) {
      if (segment && typeof segment.key === 'string') segmentSources.set(segment.key, segment);
    }
    const flagSources = new Map<string, FlagSnapshotV1>();
    for (const flag of snapshot?.flags ?? []) {
      if (flag && typeof flag.key === 'string' && flag.archived !== true) flagSources.set(flag.key, flag);
    }
    const segments = new Map<string, CompiledSegment>();
    const interner: ClauseInterner = new Map();
    const compiler = new SegmentCompiler(segmentSources, segments, interner);
    for (const key of segmentSources.keys()) compiler.get(key);
    const flags = new Map<string, CompiledFlag>();
    const lazy = options?.lazy === true;
    if (!lazy) for (const [key, flag] of flagSources) flags.set(key, compileFlag(flag, compiler, interner));
    return new EnvironmentEvaluator(
      String(snapshot?.environment ?? ''),
      typeof snapshot?.revision === 'number' ? snapshot.revision : 0,
      flags,
      flagSources,
      segmentSources,
      segments,
      interner,
      lazy ? compiler : null,
    );
  }

  /** Whether flags are compiled on first use (`compile(snapshot, { lazy: true })`). */
  get lazy(): boolean {
    return this.compiler !== null;
  }

  /** The compiled flag, compiling it now when the evaluator is lazy; undefined for an unknown key. */
  private flag(flagKey: string): CompiledFlag | undefined {
    const compiled = this.flags.get(flagKey);
    if (compiled !== undefined || this.compiler === null) return compiled;
    const source = this.flagSources.get(flagKey);
    if (source === undefined) return undefined;
    const fresh = compileFlag(source, this.compiler, this.interner);
    this.flags.set(flagKey, fresh);
    return fresh;
  }

  /** Every flag, compiled, in key order. */
  private all(): readonly CompiledFlag[] {
    if (this.ordered === null) {
      const list: CompiledFlag[] = [];
      for (const key of this.sortedKeys()) list.push(this.flag(key)!);
      this.ordered = list;
    }
    return this.ordered;
  }

  private sortedKeys(): readonly string[] {
    if (this.keys === null) this.keys = [...this.flagSources.keys()].sort();
    return this.keys;
  }

  private clientVisible(): readonly CompiledFlag[] {
    if (this.visible === null) this.visible = this.all().filter((flag) => flag.clientVisible);
    return this.visible;
  }

  /**
   * Evaluates one flag for a context. Never throws: an unknown (or archived) flag gives
   * FLAG_NOT_FOUND, a non-object context is treated as `{}`.
   */
  evaluate(flagKey: string, context?: unknown, options?: EvaluateOptions): EvaluationResultV1 {
    const flag = this.flag(flagKey);
    if (flag === undefined) {
      return errorResult(String(flagKey), 'FLAG_NOT_FOUND', `flag "${String(flagKey)}" not found`, options?.defaultValue ?? null);
    }
    if (options !== undefined && options.kind !== undefined && options.kind !== flag.kind) {
      return errorResult(flag.key, 'TYPE_MISMATCH', `flag "${flag.key}" is of kind ${flag.kind}, not ${options.kind}`, options.defaultValue ?? null);
    }
    if (options === undefined && flag.fixedResult !== null) return flag.fixedResult;
    let result: EvaluationResultV1;
    nextEvaluationPass();
    try {
      result = flag.evaluate(asContext(context), 0, this);
    } catch (error) {
      result = errorResult(flag.key, 'GENERAL', `evaluation failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (result.reason === 'ERROR' && options !== undefined && options.defaultValue !== undefined) {
      return { ...result, value: options.defaultValue };
    }
    return result;
  }

  /** Evaluates every flag (or every client-visible flag), in key order. Never throws. */
  evaluateAll(context?: unknown, options?: EvaluateAllOptions): EvaluationResultV1[] {
    const ctx = asContext(context);
    const list = options?.clientVisibleOnly === true ? this.clientVisible() : this.all();
    // Every rollout will hash the same targeting key after its own salt: encode it once.
    const targetingKey = ctx['targetingKey'];
    if (typeof targetingKey === 'string' && targetingKey.length > 0 && list.length > 1) primeMurmur3Text(targetingKey);
    nextEvaluationPass();
    const out = new Array<EvaluationResultV1>(list.length);
    for (let i = 0; i < list.length; i++) {
      const flag = list[i]!;
      if (flag.fixedResult !== null) {
        out[i] = flag.fixedResult;
        continue;
      }
      try {
        out[i] = flag.evaluate(ctx, 0, this);
      } catch (error) {
        out[i] = errorResult(flag.key, 'GENERAL', `evaluation failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return out;
  }

  /** @internal Prerequisite resolution with the run-time depth guard. */
  evaluatePrerequisite(flagKey: string, context: Context, depth: number): EvaluationResultV1 | undefined {
    const flag = this.flag(flagKey);
    if (flag === undefined) return undefined;
    if (depth > FLAG_LIMITS.maxPrerequisiteDepth) {
      return errorResult(flagKey, 'GENERAL', `prerequisites nested deeper than ${FLAG_LIMITS.maxPrerequisiteDepth} (a cycle?)`);
    }
    return flag.evaluate(context, depth, this);
  }

  has(flagKey: string): boolean {
    return this.flagSources.has(flagKey);
  }

  /** Keys of the evaluable (non-archived) flags, sorted. */
  flagKeys(): string[] {
    return [...this.sortedKeys()];
  }

  /** Flags that could not be compiled (they evaluate to ERROR / PARSE_ERROR); compiles every flag of a lazy evaluator. */
  problems(): CompileProblem[] {
    return this.all()
      .filter((flag) => flag.problem !== undefined)
      .map((flag) => ({ flag: flag.key, message: flag.problem! }));
  }

  /** The compiled form of a flag, for tests and diagnostics (compiled now when the evaluator is lazy). */
  compiledFlag(flagKey: string): CompiledFlag | undefined {
    return this.flag(flagKey);
  }

  /** Applies a delta, recompiling only what it affects. Never throws. */
  apply(patch: SnapshotPatch): EnvironmentEvaluator {
    const segmentSources = new Map(this.segmentSources);
    const changedSegments = new Set<string>();
    for (const key of patch.removedSegments ?? []) {
      segmentSources.delete(key);
      changedSegments.add(key);
    }
    for (const segment of patch.segments ?? []) {
      if (!segment || typeof segment.key !== 'string') continue;
      segmentSources.set(segment.key, segment);
      changedSegments.add(segment.key);
    }
    // Segments that use a changed segment, transitively, change too.
    const affected = new Set(changedSegments);
    for (let grew = affected.size > 0; grew; ) {
      grew = false;
      for (const [key, segment] of this.segments) {
        if (affected.has(key)) continue;
        for (const ref of segment.references) {
          if (affected.has(ref)) {
            affected.add(key);
            grew = true;
            break;
          }
        }
      }
    }
    const segments = new Map(this.segments);
    for (const key of affected) segments.delete(key);
    const compiler = new SegmentCompiler(segmentSources, segments, this.interner);
    for (const key of affected) if (segmentSources.has(key)) compiler.get(key);

    const flagSources = new Map(this.flagSources);
    const changedFlags = new Set<string>();
    for (const key of patch.removedFlags ?? []) {
      flagSources.delete(key);
      changedFlags.add(key);
    }
    for (const flag of patch.flags ?? []) {
      if (!flag || typeof flag.key !== 'string') continue;
      if (flag.archived === true) flagSources.delete(flag.key);
      else flagSources.set(flag.key, flag);
      changedFlags.add(flag.key);
    }
    const flags = new Map(this.flags);
    for (const key of changedFlags) flags.delete(key);
    for (const [key, flag] of this.flags) {
      if (changedFlags.has(key) || affected.size === 0) continue;
      for (const ref of flag.segmentKeys) {
        if (affected.has(ref)) {
          changedFlags.add(key);
          break;
        }
      }
    }
    for (const key of changedFlags) {
      const source = flagSources.get(key);
      // A lazy evaluator compiles a changed flag when it is next used.
      if (source && this.compiler === null) flags.set(key, compileFlag(source, compiler, this.interner));
      else flags.delete(key);
    }
    return new EnvironmentEvaluator(
      this.environment,
      typeof patch.revision === 'number' ? patch.revision : this.revision,
      flags,
      flagSources,
      segmentSources,
      segments,
      this.interner,
      this.compiler === null ? null : compiler,
    );
  }
}

/** Compiles an environment snapshot into an evaluator (every flag now, or each on first use with `lazy`). Never throws. */
export function compile(snapshot: EnvironmentSnapshotV1, options?: CompileOptions): EnvironmentEvaluator {
  return EnvironmentEvaluator.compile(snapshot, options);
}
