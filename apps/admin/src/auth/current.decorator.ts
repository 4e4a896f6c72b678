import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { UnauthenticatedError } from '@flagstream/errors';
import type { AuthedRequest } from './auth.guard';
import type { WriteContext } from '@flagstream/changes';


/** The caller, its request id and the optional `X-Flagstream-Reason` header, for the audit trail. */
export const Writer = createParamDecorator((_: unknown, ctx: ExecutionContext): WriteContext => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  if (!req.principal) throw new UnauthenticatedError('not authenticated');
  const reason = req.headers['x-flagstream-reason'];
  return {
    principal: req.principal,
    requestId: typeof req.id === 'string' ? req.id : null,
    reason: typeof reason === 'string' && isPrintable(reason) ? reason : null,
  };
});

/** 1 to 500 characters with no control characters (a header value is also not multi-line). */
function isPrintable(s: string): boolean {
  return s.length > 0 && s.length <= 500 && ![...s].some((c) => c.charCodeAt(0) < 0x20);
}
