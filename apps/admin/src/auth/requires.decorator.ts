import { SetMetadata } from '@nestjs/common';
import type { AdminRole } from '@flagstream/persistence';

export const REQUIRES = 'flagstream:requires';

export interface Requirement {
  role: AdminRole;
  /** Only tokens with no project scope (instance-wide operations). */
  unscoped?: boolean;
}

/** The least role a route needs. Routes under /api without it are owner-only (deny by default). */
export const Requires = (role: AdminRole, options: { unscoped?: boolean } = {}) =>
  SetMetadata(REQUIRES, { role, unscoped: options.unscoped ?? false } satisfies Requirement);
