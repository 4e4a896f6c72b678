export { applyMergePatch, isJsonObject } from './merge-patch';
export { environmentChain, parentProblem, descendantsOf, EnvironmentChainError, MAX_ENVIRONMENT_DEPTH } from './environment-chain';
export type { EnvironmentNode } from './environment-chain';
export { applicableLayers, combineLayers, resolveConfig, compileConfigItem, tenantOf } from './config.resolver';
export type { ResolvableItem, ResolutionTarget, ConfigResolution, ShadowedValue, TargetedMatcher, CompiledConfigItem } from './config.resolver';
export { compileConfigSchema, schemaProblems, CONFIG_LIMITS } from './config-schema.compiler';
export type { CompiledConfigSchema } from './config-schema.compiler';
export { findBrokenValues } from './blast-radius';
export type { BrokenValue, BlastRadiusInput, BlastRadiusResult } from './blast-radius';
