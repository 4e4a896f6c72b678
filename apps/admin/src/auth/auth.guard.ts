import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ForbiddenError, UnauthenticatedError } from '@flagstream/errors';
import type { Store } from '@flagstream/persistence';
import { STORE } from '../common/tokens';
import { ROLE_RANK, type Principal } from '@flagstream/changes';
import { REQUIRES, type Requirement } from './requires.decorator';
import { hashSecret } from './secret-token';

export type AuthedRequest = Request & { principal?: Principal; id?: string };

/**
 * Every route under /api needs an admin token (`Authorization: Bearer fs_admin_...`), a role at
 * least the route's, and, for project-scoped tokens, the route's project. Health, metrics and the
 * OpenAPI document stay public.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(STORE) private readonly store: Store,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    if (!req.path.startsWith('/api/')) return true;

    const principal = await this.authenticate(req);
    const need = this.reflector.getAllAndOverride<Requirement | undefined>(REQUIRES, [context.getHandler(), context.getClass()]) ?? {
      role: 'owner',
      unscoped: true,
    };
    if (ROLE_RANK[principal.role] < ROLE_RANK[need.role]) {
      throw new ForbiddenError(`this needs the ${need.role} role; the token "${principal.name}" has ${principal.role}`);
    }
    if (need.unscoped && principal.projectId) {
      throw new ForbiddenError(`this needs a token that is not limited to one project; "${principal.name}" is limited to "${principal.projectKey}"`);
    }
    const project = req.params?.project;
    if (principal.projectKey && typeof project === 'string' && project !== principal.projectKey) {
      throw new ForbiddenError(`the token "${principal.name}" is limited to project "${principal.projectKey}"`);
    }
    req.principal = principal;
    return true;
  }

  private async authenticate(req: Request): Promise<Principal> {
    const header = req.headers.authorization;
    if (!header) throw new UnauthenticatedError('missing admin token: send "Authorization: Bearer <token>"');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new UnauthenticatedError('malformed Authorization header: expected "Bearer <token>"');
    const token = await this.store.read.credentials.findActiveToken(hashSecret(match[1]));
    if (!token) throw new UnauthenticatedError('admin token is unknown or revoked');
    void this.store.read.credentials.touchToken(token.id).catch(() => undefined);
    let projectKey: string | null = null;
    if (token.projectId) projectKey = (await this.store.read.projects.findById(token.projectId))?.key ?? null;
    return { tokenId: token.id, name: token.name, role: token.role, projectId: token.projectId, projectKey };
  }
}
