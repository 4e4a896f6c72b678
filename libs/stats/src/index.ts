// Pure statistics for guardrails and experiments: no I/O, no other lib, only @stdlib packages.
export type { Alternative } from './alternative';
export { betaCdf, betaQuantile, chiSquareCdf, normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distribution.functions';
export { summarize } from './sample.summary';
export type { SampleSummary } from './sample.summary';
export { summarizeRatio } from './ratio.summary';
export type { RatioSums } from './ratio.summary';
export { twoProportionZTest } from './two-proportion.z-test';
export type { ProportionSample, TwoProportionZTestResult } from './two-proportion.z-test';
export { welchTTest } from './welch.t-test';
export type { WelchTTestResult } from './welch.t-test';
export { meanZTest } from './mean.z-test';
export type { MeanZTestResult } from './mean.z-test';
export { chiSquareGoodnessOfFit } from './chi-square.goodness-of-fit';
export type { ChiSquareGoodnessOfFitResult } from './chi-square.goodness-of-fit';
export { meanUplift, normalMeanUplift, proportionUplift } from './uplift.interval';
export type { EffectInterval, MeanUpliftResult, UpliftOptions, UpliftResult } from './uplift.interval';
export { holmBonferroni } from './holm.correction';
export { meanConfidenceSequence, proportionConfidenceSequence } from './confidence.sequence';
export type { ConfidenceSequenceOptions, ConfidenceSequenceResult } from './confidence.sequence';
export { betaBinomialComparison, normalMeanComparison } from './bayesian.comparison';
export type {
  BayesianComparisonResult,
  BayesianOptions,
  BetaBinomialComparisonResult,
  BetaBinomialOptions,
  BetaParameters,
  CredibleInterval,
} from './bayesian.comparison';
export { cupedAdjustment } from './cuped.adjustment';
export type { CupedResult, CupedSums, CupedVariation } from './cuped.adjustment';
export { meanMinimumDetectableEffect, meanPower, proportionMinimumDetectableEffect, proportionPower } from './power.analysis';
export type {
  MeanPowerInput,
  MinimumDetectableEffect,
  MinimumDetectableEffectOptions,
  PowerOptions,
  ProportionMinimumDetectableEffect,
  ProportionPowerInput,
} from './power.analysis';
export { sampleRatioMismatch } from './sample-ratio.mismatch';
export type { SampleRatioMismatchOptions, SampleRatioMismatchResult } from './sample-ratio.mismatch';
export { analyzeExperiment } from './experiment.analysis';
export type { ExperimentAnalysis, ExperimentAnalysisInput, ExperimentMetricInput, MetricResult, MetricTotals, TreatmentResult } from './experiment.analysis';
