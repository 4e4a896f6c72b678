import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { appendPath, type ValidationProblem } from '@flagstream/protocol';

/** Upper bounds that keep validation cheap and the stream small. */
export const CONFIG_LIMITS = {
  /** Serialised JSON Schema of an item. */
  maxSchemaBytes: 64 * 1024,
  /** Serialised value of one layer. */
  maxValueBytes: 256 * 1024,
  /** Targeted layers per item and environment. */
  maxTargetedPerEnvironment: 20,
  /** Tenant overrides per item (all environments). */
  maxTenantOverrides: 10_000,
} as const;

/** A compiled item schema: `check` lists every problem of a value (empty when valid). */
export interface CompiledConfigSchema {
  check(value: unknown): ValidationProblem[];
}

let ajv: Ajv2020 | undefined;
const cache = new Map<string, ValidateFunction>();

function instance(): Ajv2020 {
  if (!ajv) {
    // strict: unknown keywords and ambiguous schemas are errors, so typos in a schema are refused
    // instead of silently validating nothing. Remote references are never fetched.
    ajv = new Ajv2020({ allErrors: true, strict: true, validateFormats: true, loadSchema: undefined });
    addFormats(ajv);
  }
  return ajv;
}

/** Turns ajv's JSON Pointer into our accessor paths (`limits.max`, `items[2]`). */
function pointerToPath(pointer: string): string {
  let path = '';
  if (pointer === '') return path;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = appendPath(path, /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment);
  }
  return path;
}

function toProblem(e: ErrorObject): ValidationProblem {
  let path = pointerToPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') path = appendPath(path, params['missingProperty']);
  if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
    return { path: appendPath(path, params['additionalProperty']), message: 'is not allowed by the schema' };
  }
  return { path, message: e.message ?? `fails ${e.keyword}` };
}

/**
 * Problems with a JSON Schema given for a config item (draft 2020-12): not an object or boolean,
 * too large, not a valid schema, unknown keywords or formats, remote `$ref`s.
 */
export function schemaProblems(schema: unknown): ValidationProblem[] {
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
    return [{ path: '', message: 'must be a JSON Schema (an object or a boolean)' }];
  }
  const text = JSON.stringify(schema);
  if (text.length > CONFIG_LIMITS.maxSchemaBytes) return [{ path: '', message: `must be at most ${CONFIG_LIMITS.maxSchemaBytes} bytes of JSON` }];
  if (typeof schema === 'object' && '$schema' in schema && schema.$schema !== 'https://json-schema.org/draft/2020-12/schema') {
    return [{ path: '$schema', message: 'must be "https://json-schema.org/draft/2020-12/schema" (or absent): only draft 2020-12 is supported' }];
  }
  try {
    compileConfigSchema(schema);
    return [];
  } catch (e) {
    return [{ path: '', message: `is not a valid JSON Schema: ${(e as Error).message}` }];
  }
}

/** Compiles (memoised by content) an item's schema. Throws on an invalid schema; see `schemaProblems`. */
export function compileConfigSchema(schema: unknown): CompiledConfigSchema {
  const text = JSON.stringify(schema);
  let validate = cache.get(text);
  if (!validate) {
    const a = instance();
    // Schemas are compiled without registering them ($id would otherwise clash between items).
    const copy = typeof schema === 'object' && schema !== null ? { ...(schema as Record<string, unknown>) } : schema;
    if (typeof copy === 'object' && copy !== null) delete (copy as Record<string, unknown>)['$id'];
    validate = a.compile(copy as object | boolean);
    if (cache.size > 1000) cache.clear();
    cache.set(text, validate);
  }
  const v = validate;
  return {
    check(value) {
      if (JSON.stringify(value ?? null).length > CONFIG_LIMITS.maxValueBytes) return [{ path: '', message: `must be at most ${CONFIG_LIMITS.maxValueBytes} bytes of JSON` }];
      return v(value) ? [] : (v.errors ?? []).map(toProblem);
    },
  };
}
