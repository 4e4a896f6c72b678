import { CLAUSE_OPERATORS, FLAG_KINDS } from './flag.model';
import { EVALUATION_ERROR_CODES, EVALUATION_REASONS } from './evaluation.model';
import { FLAG_LIMITS } from './flag.limits';
import { KEY_PATTERN_SOURCE } from './key.pattern';

/** `$id` of the version 1 flag model schema document (JSON Schema draft 2020-12). */
export const FLAG_SCHEMA_V1_ID = 'https://flagstream.dev/schemas/flags.v1.json';

/** Names of the definitions in {@link FLAG_SCHEMA_V1}, usable as `${FLAG_SCHEMA_V1_ID}#/$defs/<name>`. */
export type FlagSchemaName =
  | 'variation'
  | 'clause'
  | 'rollout'
  | 'serve'
  | 'rule'
  | 'prerequisite'
  | 'flagDefinition'
  | 'flagEnvironmentSettings'
  | 'flag'
  | 'segmentRule'
  | 'segmentDefinition'
  | 'flagSnapshot'
  | 'environmentSnapshot'
  | 'evaluationContext'
  | 'evaluationResult';

const key = { type: 'string', pattern: KEY_PATTERN_SOURCE };
const ref = (name: string): { $ref: string } => ({ $ref: `#/$defs/${name}` });
const text = (maxLength: number): { type: string; maxLength: number } => ({ type: 'string', maxLength });

const definitionProperties = {
  key: ref('key'),
  kind: { enum: [...FLAG_KINDS] },
  variations: { type: 'array', minItems: 1, maxItems: FLAG_LIMITS.maxVariations, items: ref('variation') },
  name: text(FLAG_LIMITS.maxNameLength),
  description: text(FLAG_LIMITS.maxDescriptionLength),
  clientVisible: { type: 'boolean' },
};

/**
 * The JSON Schema (draft 2020-12) of the version 1 flag model. It checks structure and sizes;
 * cross-references (variations, segments, prerequisites), operator value types, weights summing to
 * 100,000 and pattern safety are checked by the validators of `@flagstream/targeting`.
 */
export const FLAG_SCHEMA_V1 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: FLAG_SCHEMA_V1_ID,
  title: 'Flagstream flag model, version 1',
  $defs: {
    key: { ...key, description: 'A slug: ^[a-z0-9][a-z0-9_.-]{0,63}$' },
    ruleId: { type: 'string', pattern: `^[A-Za-z0-9_.-]{1,${FLAG_LIMITS.maxRuleIdLength}}$` },
    attributePath: { type: 'string', minLength: 1, maxLength: FLAG_LIMITS.maxAttributePathLength },
    variation: {
      type: 'object',
      required: ['key', 'value'],
      additionalProperties: false,
      properties: {
        key: ref('key'),
        value: { description: 'A value of the flag kind' },
        name: text(FLAG_LIMITS.maxNameLength),
        description: text(FLAG_LIMITS.maxDescriptionLength),
      },
    },
    clauseValue: {
      anyOf: [{ type: 'string', maxLength: FLAG_LIMITS.maxValueLength }, { type: 'number' }, { type: 'boolean' }],
    },
    clause: {
      type: 'object',
      required: ['operator', 'values'],
      additionalProperties: false,
      properties: {
        attribute: { type: 'string', maxLength: FLAG_LIMITS.maxAttributePathLength },
        operator: { enum: [...CLAUSE_OPERATORS] },
        values: { type: 'array', maxItems: FLAG_LIMITS.maxValuesPerClause, items: ref('clauseValue') },
        negate: { type: 'boolean' },
        caseInsensitive: { type: 'boolean' },
      },
    },
    weightedVariation: {
      type: 'object',
      required: ['variation', 'weight'],
      additionalProperties: false,
      properties: {
        variation: { type: 'string' },
        weight: { type: 'integer', minimum: 0, maximum: FLAG_LIMITS.bucketScale },
        untracked: { type: 'boolean' },
      },
    },
    rollout: {
      type: 'object',
      required: ['variations'],
      additionalProperties: false,
      properties: {
        variations: {
          type: 'array',
          minItems: 1,
          maxItems: FLAG_LIMITS.maxVariations,
          items: ref('weightedVariation'),
        },
        bucketBy: ref('attributePath'),
        seed: { type: 'string', minLength: 1, maxLength: FLAG_LIMITS.maxSaltLength },
        experiment: ref('key'),
      },
    },
    serve: {
      type: 'object',
      minProperties: 1,
      maxProperties: 1,
      additionalProperties: false,
      properties: { variation: { type: 'string' }, rollout: ref('rollout') },
    },
    rule: {
      type: 'object',
      required: ['id', 'clauses', 'serve'],
      additionalProperties: false,
      properties: {
        id: ref('ruleId'),
        clauses: { type: 'array', maxItems: FLAG_LIMITS.maxClausesPerRule, items: ref('clause') },
        serve: ref('serve'),
        description: text(FLAG_LIMITS.maxDescriptionLength),
      },
    },
    prerequisite: {
      type: 'object',
      required: ['flag', 'variations'],
      additionalProperties: false,
      properties: {
        flag: ref('key'),
        variations: { type: 'array', minItems: 1, maxItems: FLAG_LIMITS.maxVariations, items: { type: 'string' } },
      },
    },
    flagEnvironmentSettings: {
      type: 'object',
      required: ['on', 'offVariation', 'prerequisites', 'rules', 'defaultServe', 'salt'],
      additionalProperties: false,
      properties: {
        on: { type: 'boolean' },
        offVariation: { type: 'string' },
        prerequisites: { type: 'array', maxItems: FLAG_LIMITS.maxPrerequisites, items: ref('prerequisite') },
        rules: { type: 'array', maxItems: FLAG_LIMITS.maxRules, items: ref('rule') },
        defaultServe: ref('serve'),
        salt: { type: 'string', minLength: 1, maxLength: FLAG_LIMITS.maxSaltLength },
      },
    },
    flagDefinition: {
      type: 'object',
      required: ['key', 'kind', 'variations'],
      additionalProperties: false,
      properties: definitionProperties,
    },
    flag: {
      type: 'object',
      required: ['key', 'kind', 'variations', 'environments'],
      additionalProperties: false,
      properties: {
        ...definitionProperties,
        environments: {
          type: 'object',
          propertyNames: ref('key'),
          additionalProperties: ref('flagEnvironmentSettings'),
        },
      },
    },
    segmentRule: {
      type: 'object',
      required: ['id', 'clauses'],
      additionalProperties: false,
      properties: {
        id: ref('ruleId'),
        clauses: { type: 'array', maxItems: FLAG_LIMITS.maxClausesPerRule, items: ref('clause') },
        description: text(FLAG_LIMITS.maxDescriptionLength),
      },
    },
    segmentKeyList: {
      type: 'array',
      maxItems: FLAG_LIMITS.maxSegmentKeys,
      items: { type: 'string', minLength: 1, maxLength: FLAG_LIMITS.maxSegmentKeyLength },
    },
    segmentDefinition: {
      type: 'object',
      required: ['key', 'included', 'excluded', 'rules'],
      additionalProperties: false,
      properties: {
        key: ref('key'),
        included: ref('segmentKeyList'),
        excluded: ref('segmentKeyList'),
        rules: { type: 'array', maxItems: FLAG_LIMITS.maxSegmentRules, items: ref('segmentRule') },
        name: text(FLAG_LIMITS.maxNameLength),
        description: text(FLAG_LIMITS.maxDescriptionLength),
      },
    },
    flagSnapshot: {
      type: 'object',
      required: ['key', 'kind', 'variations', 'clientVisible', 'settings', 'version'],
      additionalProperties: false,
      properties: {
        ...definitionProperties,
        archived: { type: 'boolean' },
        settings: ref('flagEnvironmentSettings'),
        version: { type: 'integer', minimum: 0 },
      },
    },
    environmentSnapshot: {
      type: 'object',
      required: ['environment', 'revision', 'flags', 'segments'],
      additionalProperties: false,
      properties: {
        environment: ref('key'),
        revision: { type: 'integer', minimum: 0 },
        flags: { type: 'array', items: ref('flagSnapshot') },
        segments: { type: 'array', items: ref('segmentDefinition') },
      },
    },
    evaluationContext: {
      type: 'object',
      properties: { targetingKey: { type: 'string' } },
    },
    evaluationResult: {
      type: 'object',
      required: ['key', 'value', 'reason'],
      properties: {
        key: { type: 'string' },
        value: {},
        variation: { type: 'string' },
        reason: { enum: [...EVALUATION_REASONS] },
        ruleId: { type: 'string' },
        prerequisite: { type: 'string' },
        errorCode: { enum: [...EVALUATION_ERROR_CODES] },
        errorMessage: { type: 'string' },
        experiment: ref('key'),
        experimentUnit: ref('attributePath'),
      },
    },
  },
} as const;
