export { compile, EnvironmentEvaluator } from './environment.evaluator';
export type { CompileProblem, EvaluateAllOptions, EvaluateOptions, SnapshotPatch } from './environment.evaluator';
export { validateFlag, validateFlagDefinition, validateFlagEnvironment } from './flag.validator';
export type { KnownEnvironmentEntities, KnownEntitiesByEnvironment } from './flag.validator';
export { validateSegment } from './segment.validator';
export { BUCKET_SCALE, bucketOf, hashToBucket } from './bucket.hash';
export { murmur3 } from './murmur3.hash';
export { patternProblem } from './pattern.safety';
export { parseIsoDate } from './date.parser';
