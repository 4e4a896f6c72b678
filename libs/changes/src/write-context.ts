import type { AuditActor } from '@flagstream/audit';
import type { AdminRole } from '@flagstream/persistence';

export const ROLE_RANK: Record<AdminRole, number> = { viewer: 1, editor: 2, owner: 3 };

/** Who is calling: an admin token with its role and optional project scope. */
export interface Principal {
  tokenId: string;
  name: string;
  role: AdminRole;
  /** The one project this token may touch, or null for all. */
  projectId: string | null;
  projectKey: string | null;
}

/** Flagstream itself, for writes nobody requested (first start, demo seed). */
export const SYSTEM: Principal = { tokenId: 'system', name: 'flagstream', role: 'owner', projectId: null, projectKey: null };

/** The worker applying what someone scheduled (the schedule records who asked for it). */
export const SCHEDULER: Principal = { tokenId: 'scheduler', name: 'scheduler', role: 'owner', projectId: null, projectKey: null };

/** How the audit trail names a principal: Flagstream's own actors are `system`, tokens are `token`. */
export function actorOf(p: Principal): AuditActor {
  if (p.tokenId === SYSTEM.tokenId || p.tokenId === SCHEDULER.tokenId) return { type: 'system', id: p.tokenId, name: p.name };
  return { type: 'token', id: p.tokenId, name: p.name };
}

/** Request context every write carries into the audit trail. */
export interface WriteContext {
  principal: Principal;
  requestId: string | null;
  reason: string | null;
  /** Who the audit record names, when it is not a token (an SDK key reading secrets). */
  actor?: AuditActor;
}
