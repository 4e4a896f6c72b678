import { defaultFlagEnvironmentSettings, defaultVariations } from './flag.defaults';

describe('flag defaults', () => {
  it('gives boolean flags on=true and off=false, and other kinds nothing', () => {
    expect(defaultVariations('boolean')).toEqual([
      { key: 'on', value: true },
      { key: 'off', value: false },
    ]);
    expect(defaultVariations('string')).toEqual([]);
    expect(defaultVariations('json')).toEqual([]);
  });

  it('starts a boolean flag off, serving the false variation when off and the first when on', () => {
    expect(defaultFlagEnvironmentSettings({ key: 'f', kind: 'boolean', variations: defaultVariations('boolean') }, 's1')).toEqual({
      on: false,
      offVariation: 'off',
      prerequisites: [],
      rules: [],
      defaultServe: { variation: 'on' },
      salt: 's1',
    });
    const reversed = defaultFlagEnvironmentSettings(
      { key: 'f', kind: 'boolean', variations: [{ key: 'disabled', value: false }, { key: 'enabled', value: true }] },
      's',
    );
    expect(reversed.offVariation).toBe('disabled');
    expect(reversed.defaultServe).toEqual({ variation: 'disabled' });
  });

  it('uses the first variation for both when the flag is not boolean', () => {
    const settings = defaultFlagEnvironmentSettings(
      { key: 'f', kind: 'string', variations: [{ key: 'a', value: 'A' }, { key: 'b', value: 'B' }] },
      's',
    );
    expect([settings.offVariation, settings.defaultServe]).toEqual(['a', { variation: 'a' }]);
  });
});
