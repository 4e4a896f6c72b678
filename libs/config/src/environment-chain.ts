/** An environment and its parent (the environment it inherits from), by key. */
export interface EnvironmentNode {
  key: string;
  parent: string | null;
}

/** Why a chain could not be built. */
export class EnvironmentChainError extends Error {
  constructor(
    message: string,
    readonly kind: 'unknown' | 'unknown-parent' | 'cycle' | 'too-deep',
  ) {
    super(message);
    this.name = 'EnvironmentChainError';
  }
}

/** Inheritance chains stop here, so a resolution never walks far. */
export const MAX_ENVIRONMENT_DEPTH = 8;

/**
 * The root-first chain of `environment`: `["prod", "prod-eu"]` when `prod-eu` inherits `prod`.
 * Throws `EnvironmentChainError` for an unknown environment or parent, a cycle, or a chain longer
 * than MAX_ENVIRONMENT_DEPTH.
 */
export function environmentChain(environment: string, nodes: Iterable<EnvironmentNode>): string[] {
  const byKey = new Map<string, EnvironmentNode>();
  for (const n of nodes) byKey.set(n.key, n);
  const start = byKey.get(environment);
  if (!start) throw new EnvironmentChainError(`unknown environment "${environment}"`, 'unknown');
  const chain: string[] = [];
  const seen = new Set<string>();
  for (let node: EnvironmentNode | undefined = start; node; ) {
    if (seen.has(node.key)) throw new EnvironmentChainError(`environment "${node.key}" is in an inheritance cycle (${chain.join(' inherits ')} inherits ${node.key})`, 'cycle');
    seen.add(node.key);
    chain.push(node.key);
    if (chain.length > MAX_ENVIRONMENT_DEPTH) throw new EnvironmentChainError(`the inheritance chain of "${environment}" is deeper than ${MAX_ENVIRONMENT_DEPTH}`, 'too-deep');
    if (node.parent === null) break;
    const parent = byKey.get(node.parent);
    if (!parent) throw new EnvironmentChainError(`environment "${node.key}" inherits from unknown environment "${node.parent}"`, 'unknown-parent');
    node = parent;
  }
  return chain.reverse();
}

/**
 * Checks that giving `environment` the parent `parent` keeps every chain sound; returns the
 * problem or null. Used before an environment's parent is stored.
 */
export function parentProblem(environment: string, parent: string | null, nodes: Iterable<EnvironmentNode>): string | null {
  const all = new Map<string, EnvironmentNode>();
  for (const n of nodes) all.set(n.key, n);
  all.set(environment, { key: environment, parent });
  try {
    for (const key of all.keys()) environmentChain(key, all.values());
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Every environment whose chain contains `environment` (itself included). */
export function descendantsOf(environment: string, nodes: Iterable<EnvironmentNode>): string[] {
  const list = [...nodes];
  return list.filter((n) => {
    try {
      return environmentChain(n.key, list).includes(environment);
    } catch {
      return false;
    }
  }).map((n) => n.key);
}
