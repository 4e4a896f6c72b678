/** Size limits of the flag model. The JSON Schema and the semantic validators both enforce them. */
export const FLAG_LIMITS = {
  /** Rollout weights are in units of 1/100,000 and must sum to this. */
  bucketScale: 100_000,
  maxVariations: 100,
  maxStringValueLength: 65_536,
  /** Serialised size of a json variation value, in UTF-16 code units. */
  maxJsonValueLength: 65_536,
  maxRules: 500,
  maxClausesPerRule: 50,
  maxValuesPerClause: 10_000,
  maxValueLength: 1_024,
  maxPrerequisites: 20,
  /** Longest prerequisite chain (a -> b -> c is depth 2); also the run-time guard. */
  maxPrerequisiteDepth: 10,
  maxSegmentKeys: 100_000,
  maxSegmentKeyLength: 256,
  maxSegmentRules: 100,
  /** Longest segment chain through `inSegment` clauses inside segment rules. */
  maxSegmentDepth: 10,
  maxPatternLength: 256,
  /** `matches` treats a longer attribute as a mistyped value (no match), bounding regex work. */
  maxMatchSubjectLength: 1_024,
  maxAttributePathLength: 256,
  maxAttributePathSegments: 8,
  maxSaltLength: 128,
  maxRuleIdLength: 64,
  maxNameLength: 200,
  maxDescriptionLength: 2_000,
} as const;
