import type { FlagDefinitionV1, FlagEnvironmentSettingsV1, FlagKind, VariationV1 } from './flag.model';

/**
 * The variations a new flag gets when its creator gives none: `on` = true and `off` = false for
 * boolean flags. Other kinds have no sensible default, so the result is empty and the caller must
 * supply variations (validation then reports the missing ones).
 */
export function defaultVariations(kind: FlagKind): VariationV1[] {
  return kind === 'boolean'
    ? [
        { key: 'on', value: true },
        { key: 'off', value: false },
      ]
    : [];
}

/**
 * The settings a flag starts with in an environment: off, no prerequisites and no rules, serving
 * the first variation by default once switched on. The off variation is the variation whose value
 * is `false` for boolean flags (else one keyed `off`), and the first variation for other kinds.
 */
export function defaultFlagEnvironmentSettings(def: FlagDefinitionV1, salt: string): FlagEnvironmentSettingsV1 {
  const first = def.variations[0]?.key ?? '';
  let off = first;
  if (def.kind === 'boolean') {
    off = (def.variations.find((v) => v.value === false) ?? def.variations.find((v) => v.key === 'off'))?.key ?? first;
  }
  return { on: false, offVariation: off, prerequisites: [], rules: [], defaultServe: { variation: first }, salt };
}
