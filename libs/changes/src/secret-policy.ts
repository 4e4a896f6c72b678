import { secretPatternMatches, secretPatternProblem } from '@flagstream/config';
import type { ErrorDetail } from '@flagstream/errors';
import type { AdminRole } from '@flagstream/persistence';

export { SECRET_PATH_PATTERN, secretPathProblem } from '@flagstream/config';

export const MAX_POLICY_PATHS = 50;
export const MAX_POLICY_ENVIRONMENTS = 50;

/** Who a policy grants: an admin role (tokens with that role or above), or one server SDK key. */
export type SecretSubject = { type: 'role'; role: AdminRole } | { type: 'sdk-key'; id: string };

/** A read grant: these subjects may read the secrets at these path patterns in these environments. */
export interface SecretPolicyRule {
  id: string;
  subject: SecretSubject;
  /** Path patterns (`payments/**`, `*\/api-key`). */
  paths: readonly string[];
  /** Environment keys, or `*` for every environment of the project. */
  environments: readonly string[] | '*';
}

/** Who is asking: a token (its role) or an SDK key (its id and kind). */
export type SecretReader = { type: 'token'; role: AdminRole } | { type: 'sdk-key'; id: string; kind: 'server' | 'client' };

const ROLE_ORDER: Record<AdminRole, number> = { viewer: 1, editor: 2, owner: 3 };

/** Problems of a path pattern, or null (see `secretPatternProblem`). */
export const pathPatternProblem = secretPatternProblem;

/** The policy fields' problems, with their paths. */
export function policyProblems(input: { paths?: unknown; environments?: unknown }): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  if (!Array.isArray(input.paths) || input.paths.length < 1 || input.paths.length > MAX_POLICY_PATHS) {
    out.push({ path: 'paths', message: `must hold 1 to ${MAX_POLICY_PATHS} path patterns` });
  } else {
    input.paths.forEach((p, i) => {
      const problem = pathPatternProblem(p);
      if (problem) out.push({ path: `paths.${i}`, message: problem });
    });
  }
  const envs = input.environments;
  if (envs !== '*' && (!Array.isArray(envs) || envs.length < 1 || envs.length > MAX_POLICY_ENVIRONMENTS)) {
    out.push({ path: 'environments', message: `must be "*" or a list of 1 to ${MAX_POLICY_ENVIRONMENTS} environment keys` });
  }
  return out;
}

/** Whether `path` matches `pattern` (segment by segment; `**` spans any number of segments). */
export const pathMatches = secretPatternMatches;

/** Whether a policy's subject covers the reader: a role grant covers that role and the ones above it. */
function covers(subject: SecretSubject, reader: SecretReader): boolean {
  if (subject.type === 'role') return reader.type === 'token' && ROLE_ORDER[reader.role] >= ROLE_ORDER[subject.role];
  return reader.type === 'sdk-key' && reader.kind === 'server' && reader.id === subject.id;
}

/**
 * The read decision, deny by default: the first policy whose subject covers the reader, whose
 * environments include `environment` and one of whose patterns matches `path`. Client SDK keys
 * are always refused, whatever a policy says.
 */
export function readDecision(policies: readonly SecretPolicyRule[], reader: SecretReader, environment: string, path: string): { allowed: true; policy: string } | { allowed: false } {
  if (reader.type === 'sdk-key' && reader.kind !== 'server') return { allowed: false };
  for (const p of policies) {
    if (!covers(p.subject, reader)) continue;
    if (p.environments !== '*' && !p.environments.includes(environment)) continue;
    if (p.paths.some((pattern) => pathMatches(pattern, path))) return { allowed: true, policy: p.id };
  }
  return { allowed: false };
}
