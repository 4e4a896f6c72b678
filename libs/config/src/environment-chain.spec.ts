import { descendantsOf, environmentChain, EnvironmentChainError, parentProblem, type EnvironmentNode } from './environment-chain';

const envs: EnvironmentNode[] = [
  { key: 'prod', parent: null },
  { key: 'prod-eu', parent: 'prod' },
  { key: 'prod-eu-west', parent: 'prod-eu' },
  { key: 'staging', parent: null },
];

describe('environmentChain', () => {
  it('lists the chain root first', () => {
    expect(environmentChain('prod-eu-west', envs)).toEqual(['prod', 'prod-eu', 'prod-eu-west']);
    expect(environmentChain('prod', envs)).toEqual(['prod']);
  });

  it('refuses unknown environments and parents, and cycles', () => {
    expect(() => environmentChain('dev', envs)).toThrow(new EnvironmentChainError('unknown environment "dev"', 'unknown'));
    expect(() => environmentChain('a', [{ key: 'a', parent: 'ghost' }])).toThrow('environment "a" inherits from unknown environment "ghost"');
    const cyclic = [
      { key: 'a', parent: 'b' },
      { key: 'b', parent: 'a' },
    ];
    expect(() => environmentChain('a', cyclic)).toThrow('environment "a" is in an inheritance cycle (a inherits b inherits a)');
  });

  it('refuses chains deeper than eight', () => {
    const deep = Array.from({ length: 9 }, (_, i) => ({ key: `e${i}`, parent: i === 0 ? null : `e${i - 1}` }));
    expect(environmentChain('e7', deep)).toHaveLength(8);
    expect(() => environmentChain('e8', deep)).toThrow('the inheritance chain of "e8" is deeper than 8');
  });
});

describe('parentProblem', () => {
  it('accepts a sound parent and names a cycle or an unknown parent', () => {
    expect(parentProblem('staging', 'prod', envs)).toBeNull();
    expect(parentProblem('prod', 'prod-eu-west', envs)).toMatch(/is in an inheritance cycle/);
    expect(parentProblem('staging', 'nope', envs)).toBe('environment "staging" inherits from unknown environment "nope"');
    expect(parentProblem('new', 'prod', envs)).toBeNull();
  });
});

describe('descendantsOf', () => {
  it('lists every environment whose chain contains the given one', () => {
    expect(descendantsOf('prod-eu', envs).sort()).toEqual(['prod-eu', 'prod-eu-west']);
    expect(descendantsOf('staging', envs)).toEqual(['staging']);
  });
});
