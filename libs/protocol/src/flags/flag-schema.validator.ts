import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { FLAG_SCHEMA_V1, FLAG_SCHEMA_V1_ID, type FlagSchemaName } from './flag.schema';
import type { ValidationProblem } from './validation-problem.model';

let ajv: Ajv2020 | undefined;
const validators = new Map<FlagSchemaName, ValidateFunction>();

function validatorFor(name: FlagSchemaName): ValidateFunction {
  let validate = validators.get(name);
  if (!validate) {
    // Compiled lazily, so that importing the protocol (e.g. in a browser SDK) costs nothing.
    ajv ??= new Ajv2020({ allErrors: true, strict: true }).addSchema(FLAG_SCHEMA_V1);
    validate = ajv.getSchema(`${FLAG_SCHEMA_V1_ID}#/$defs/${name}`);
    if (!validate) throw new Error(`Unknown flag schema definition: ${name}`);
    validators.set(name, validate);
  }
  return validate;
}

/** Appends one path segment in accessor form: `a.b`, `a[0]`, `a["odd key"]`. */
export function appendPath(path: string, segment: string | number): string {
  if (typeof segment === 'number') return `${path}[${segment}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) return path === '' ? segment : `${path}.${segment}`;
  return `${path}[${JSON.stringify(segment)}]`;
}

function pointerToPath(pointer: string): string {
  let path = '';
  if (pointer === '') return path;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = appendPath(path, /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment);
  }
  return path;
}

function toProblem(error: ErrorObject): ValidationProblem {
  let path = pointerToPath(error.instancePath);
  if (error.propertyName !== undefined) {
    path = appendPath(path, error.propertyName);
    if (error.keyword === 'pattern') return { path, message: `is not a valid key: must match ${String(error.params.pattern)}` };
  }
  switch (error.keyword) {
    case 'required':
      return { path: appendPath(path, String(error.params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return { path: appendPath(path, String(error.params.additionalProperty)), message: 'is not a known property' };
    case 'minProperties':
    case 'maxProperties':
      // Only a serve limits its property count.
      return { path, message: 'must have exactly one of "variation" or "rollout"' };
    case 'enum':
      return {
        path,
        message: `must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'pattern':
      return { path, message: `must match ${String(error.params.pattern)}` };
    case 'anyOf':
      return { path, message: 'must be a string (at most 1024 characters), a number or a boolean' };
    default:
      return { path, message: error.message ?? 'is invalid' };
  }
}

/**
 * Checks `value` against one definition of the version 1 flag schema and returns every problem,
 * with paths relative to `value` (`rules[0].clauses[1].values[2]`). Empty when it conforms.
 */
export function checkFlagSchemaV1(name: FlagSchemaName, value: unknown): ValidationProblem[] {
  const validate = validatorFor(name);
  if (validate(value)) return [];
  const problems: ValidationProblem[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    // anyOf reports each failed branch too; the anyOf summary says it better.
    if (error.schemaPath.includes('/anyOf/')) continue;
    // propertyNames adds a summary after the specific error about the name.
    if (error.keyword === 'propertyNames') continue;
    const problem = toProblem(error);
    const id = `${problem.path}\u0000${problem.message}`;
    if (!seen.has(id)) {
      seen.add(id);
      problems.push(problem);
    }
  }
  return problems;
}
