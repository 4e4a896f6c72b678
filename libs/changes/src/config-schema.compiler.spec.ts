import { compileConfigSchema, CONFIG_LIMITS, schemaProblems } from './config-schema.compiler';

describe('schemaProblems', () => {
  it('accepts draft 2020-12 schemas with formats', () => {
    expect(schemaProblems({ type: 'object', properties: { url: { type: 'string', format: 'uri' } }, required: ['url'] })).toEqual([]);
    expect(schemaProblems({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'integer', minimum: 0 })).toEqual([]);
    expect(schemaProblems(true)).toEqual([]);
  });

  it('refuses non-schemas, unknown keywords, other drafts and oversized schemas', () => {
    expect(schemaProblems('string')).toEqual([{ path: '', message: 'must be a JSON Schema (an object or a boolean)' }]);
    expect(schemaProblems({ type: 'strin' })[0]?.message).toMatch(/^is not a valid JSON Schema: schema is invalid: data\/type must be equal to one of the allowed values/);
    expect(schemaProblems({ type: 'integer', minimun: 0 })).toEqual([{ path: '', message: 'is not a valid JSON Schema: strict mode: unknown keyword: "minimun"' }]);
    expect(schemaProblems({ $schema: 'http://json-schema.org/draft-07/schema#' })).toEqual([
      { path: '$schema', message: 'must be "https://json-schema.org/draft/2020-12/schema" (or absent): only draft 2020-12 is supported' },
    ]);
    expect(schemaProblems({ type: 'string', format: 'no-such-format' })[0]?.message).toMatch(/unknown format "no-such-format"/);
    expect(schemaProblems({ description: 'x'.repeat(CONFIG_LIMITS.maxSchemaBytes) })).toEqual([{ path: '', message: 'must be at most 65536 bytes of JSON' }]);
  });

  it('never fetches remote references', () => {
    expect(schemaProblems({ $ref: 'https://example.com/schema.json' })[0]?.message).toMatch(/can't resolve reference https:\/\/example.com\/schema.json/);
  });
});

describe('compileConfigSchema', () => {
  const schema = compileConfigSchema({
    type: 'object',
    properties: { maxTransfer: { type: 'integer', minimum: 1 }, endpoint: { type: 'string', format: 'uri' } },
    required: ['maxTransfer'],
    additionalProperties: false,
  });

  it('lists every problem with an accessor path', () => {
    expect(schema.check({ maxTransfer: 10, endpoint: 'https://pay.example.com' })).toEqual([]);
    expect(schema.check({ maxTransfer: 0, endpoint: 'not a uri', extra: 1 })).toEqual([
      { path: 'extra', message: 'is not allowed by the schema' },
      { path: 'maxTransfer', message: 'must be >= 1' },
      { path: 'endpoint', message: 'must match format "uri"' },
    ]);
    expect(schema.check({})).toEqual([{ path: 'maxTransfer', message: "must have required property 'maxTransfer'" }]);
  });

  it('two items may use the same $id without clashing', () => {
    const a = compileConfigSchema({ $id: 'https://x/item', type: 'string' });
    const b = compileConfigSchema({ $id: 'https://x/item', type: 'number' });
    expect(a.check('s')).toEqual([]);
    expect(b.check(1)).toEqual([]);
    expect(b.check('s')).toEqual([{ path: '', message: 'must be number' }]);
  });

  it('refuses oversized values', () => {
    expect(compileConfigSchema(true).check('x'.repeat(CONFIG_LIMITS.maxValueBytes))).toEqual([{ path: '', message: 'must be at most 262144 bytes of JSON' }]);
  });
});
