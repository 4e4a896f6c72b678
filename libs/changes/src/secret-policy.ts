import type { ErrorDetail } from '@flagstream/errors';
import type { AdminRole } from '@flagstream/persistence';

/**
 * A secret's path: 1 to 16 segments of lower-case letters, digits, `_`, `.` and `-` (starting with
 * a letter or digit), joined by `/`, at most 256 characters: `payments/stripe/api-key`.
 */
export const SECRET_PATH_PATTERN = /^(?=.{1,256}$)[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*){0,15}$/;
/** A path pattern: path segments, `*` (exactly one segment) and `**` (any number of segments, even none). */
const PATTERN_SEGMENT = /^(\*\*|\*|[a-z0-9][a-z0-9_.-]*)$/;
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

/** Why a path is not a secret path, or null. */
export function secretPathProblem(path: unknown): string | null {
  if (typeof path !== 'string' || !SECRET_PATH_PATTERN.test(path)) {
    return 'must be 1 to 16 segments of a-z, 0-9, "_", "." or "-" (each starting with a letter or digit) joined by "/", at most 256 characters';
  }
  return null;
}

/** Problems of a path pattern, or null. */
export function pathPatternProblem(pattern: unknown): string | null {
  if (typeof pattern !== 'string' || pattern.length < 1 || pattern.length > 256) return 'must be a pattern of 1 to 256 characters';
  const segments = pattern.split('/');
  if (segments.length > 16) return 'at most 16 segments';
  if (!segments.every((s) => PATTERN_SEGMENT.test(s))) return 'segments are path segments (a-z, 0-9, "_", ".", "-"), "*" (one segment) or "**" (any number)';
  return null;
}

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
export function pathMatches(pattern: string, path: string): boolean {
  return matchSegments(pattern.split('/'), 0, path.split('/'), 0);
}

function matchSegments(p: string[], i: number, s: string[], j: number): boolean {
  if (i === p.length) return j === s.length;
  if (p[i] === '**') {
    for (let k = j; k <= s.length; k++) if (matchSegments(p, i + 1, s, k)) return true;
    return false;
  }
  if (j === s.length) return false;
  return (p[i] === '*' || p[i] === s[j]) && matchSegments(p, i + 1, s, j + 1);
}

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
