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

/** A flag or segment of the snapshot that could not be compiled, and why. */
export interface CompileProblem {
  flag: string;
  message: string;
}

const EMPTY_CONTEXT: Context = Object.freeze({});

function asContext(context: unknown): Context {
  return context !== null && typeof context === 'object' && !Array.isArray(context) ? (context as Context) : EMPTY_CONTEXT;
}

function byKey(a: CompiledFlag, b: CompiledFlag): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The compiled flags and segments of one environment at one revision. Immutable: `apply` returns a
 * new evaluator and leaves this one usable by evaluations in flight. Evaluation never throws.
 */
export class EnvironmentEvaluator implements PrerequisiteSource {
  private readonly ordered: readonly CompiledFlag[];
  private readonly visible: readonly CompiledFlag[];

  private constructor(
    readonly environment: string,
    readonly revision: number,
    private readonly flags: ReadonlyMap<string, CompiledFlag>,
    private readonly flagSources: ReadonlyMap<string, FlagSnapshotV1>,
    private readonly segmentSources: ReadonlyMap<string, SegmentDefinitionV1>,
    private readonly segments: ReadonlyMap<string, CompiledSegment>,
    /** Shared with the evaluators `apply` derives; it only grows until the next full compile. */
    private readonly interner: ClauseInterner,
  ) {
    this.ordered = [...flags.values()].sort(byKey);
    this.visible = this.ordered.filter((flag) => flag.clientVisible);
  }

  /** Compiles a whole snapshot. Never throws; invalid flags are listed by `problems()`. */
  static compile(snapshot: EnvironmentSnapshotV1): EnvironmentEvaluator {
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
    for (const [key, flag] of flagSources) flags.set(key, compileFlag(flag, compiler, interner));
    return new EnvironmentEvaluator(
      String(snapshot?.environment ?? ''),
      typeof snapshot?.revision === 'number' ? snapshot.revision : 0,
      flags,
      flagSources,
      segmentSources,
      segments,
      interner,
    );
  }

  /**
   * Evaluates one flag for a context. Never throws: an unknown (or archived) flag gives
   * FLAG_NOT_FOUND, a non-object context is treated as `{}`.
   */
  evaluate(flagKey: string, context?: unknown, options?: EvaluateOptions): EvaluationResultV1 {
    const flag = this.flags.get(flagKey);
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
    const list = options?.clientVisibleOnly === true ? this.visible : this.ordered;
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
    const flag = this.flags.get(flagKey);
    if (flag === undefined) return undefined;
    if (depth > FLAG_LIMITS.maxPrerequisiteDepth) {
      return errorResult(flagKey, 'GENERAL', `prerequisites nested deeper than ${FLAG_LIMITS.maxPrerequisiteDepth} (a cycle?)`);
    }
    return flag.evaluate(context, depth, this);
  }

  has(flagKey: string): boolean {
    return this.flags.has(flagKey);
  }

  /** Keys of the evaluable (non-archived) flags, sorted. */
  flagKeys(): string[] {
    return this.ordered.map((flag) => flag.key);
  }

  /** Flags that could not be compiled (they evaluate to ERROR / PARSE_ERROR). */
  problems(): CompileProblem[] {
    return this.ordered.filter((flag) => flag.problem !== undefined).map((flag) => ({ flag: flag.key, message: flag.problem! }));
  }

  /** The compiled form of a flag, for tests and diagnostics. */
  compiledFlag(flagKey: string): CompiledFlag | undefined {
    return this.flags.get(flagKey);
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
      if (source) flags.set(key, compileFlag(source, compiler, this.interner));
    }
    return new EnvironmentEvaluator(
      this.environment,
      typeof patch.revision === 'number' ? patch.revision : this.revision,
      flags,
      flagSources,
      segmentSources,
      segments,
      this.interner,
    );
  }
}

/** Compiles an environment snapshot into an evaluator. Never throws. */
export function compile(snapshot: EnvironmentSnapshotV1): EnvironmentEvaluator {
  return EnvironmentEvaluator.compile(snapshot);
}
