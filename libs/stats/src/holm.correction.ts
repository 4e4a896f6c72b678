import { requireProbability } from './input.validation';

/**
 * Holm–Bonferroni adjusted p-values, for an experiment with several treatments (or several
 * metrics) each tested against control: comparing each adjusted p-value with alpha keeps the
 * family-wise error rate (the chance of at least one false positive among all comparisons) at or
 * below alpha, whatever the dependence between the tests, and rejects at least as much as plain
 * Bonferroni. Step-down: with the m p-values sorted ascending, p₍₁₎ <= ... <= p₍ₘ₎,
 *
 *   p̃₍ᵢ₎ = min(1, max over j <= i of (m - j + 1)·p₍ⱼ₎)
 *
 * The running maximum makes the adjusted values monotone in the raw ones, so a smaller raw p-value
 * never gets a larger adjusted one (and tied raw p-values get the same adjusted value).
 *
 * Returns the adjusted p-values in the order they were given; an empty list gives an empty list.
 * @throws RangeError naming the index of a p-value that is not in [0, 1].
 */
export function holmBonferroni(pValues: readonly number[]): number[] {
  pValues.forEach((p, i) => requireProbability(`pValues[${i}]`, p));
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((a, b) => pValues[a] - pValues[b]);
  const adjusted = new Array<number>(m);
  let runningMax = 0;
  order.forEach((index, rank) => {
    runningMax = Math.max(runningMax, Math.min(1, (m - rank) * pValues[index]));
    adjusted[index] = runningMax;
  });
  return adjusted;
}
