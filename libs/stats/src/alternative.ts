/**
 * The alternative hypothesis H1 of a two-sample test, always stated as treatment against control:
 * `'greater'` is H1: treatment > control (a guardrail asking "did the error rate go up?"),
 * `'less'` is H1: treatment < control, `'two-sided'` is H1: they differ.
 */
export type Alternative = 'greater' | 'less' | 'two-sided';

const ALTERNATIVES: ReadonlySet<string> = new Set<Alternative>(['greater', 'less', 'two-sided']);

/** Rejects anything but the three alternatives: callers may pass strings from stored plans. */
export function requireAlternative(alternative: Alternative): void {
  if (!ALTERNATIVES.has(alternative)) {
    throw new RangeError(`alternative must be 'greater', 'less' or 'two-sided', got ${JSON.stringify(alternative)}`);
  }
}

/**
 * The p-value of `statistic` (treatment minus control, scaled) under a null distribution that is
 * symmetric about 0 with lower-tail function `cdf`. Upper tails are taken as `cdf(-s)`, never as
 * `1 - cdf(s)`, so that small p-values keep their relative precision.
 */
export function symmetricPValue(statistic: number, alternative: Alternative, cdf: (x: number) => number): number {
  switch (alternative) {
    case 'greater':
      return cdf(-statistic);
    case 'less':
      return cdf(statistic);
    case 'two-sided':
      return Math.min(1, 2 * cdf(-Math.abs(statistic)));
  }
}
