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

export function actorOf(p: Principal): AuditActor {
  return p.tokenId === SYSTEM.tokenId ? { type: 'system', id: 'system', name: p.name } : { type: 'token', id: p.tokenId, name: p.name };
}

/** Flagstream itself, for writes nobody requested (first start, demo seed). */
export const SYSTEM: Principal = { tokenId: 'system', name: 'flagstream', role: 'owner', projectId: null, projectKey: null };

/** Request context every write carries into the audit trail. */
export interface WriteContext {
  principal: Principal;
  requestId: string | null;
  reason: string | null;
}
