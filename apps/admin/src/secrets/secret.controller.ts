import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ROLE_RANK, type WriteContext } from '@flagstream/changes';
import { BadRequestError, ForbiddenError } from '@flagstream/errors';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { PutSecretDto, SecretListQuery, SecretVersionDto } from './secret.dto';
import { SecretService } from './secret.service';

const ACTIONS = ['reveal', 'rollback', 'restore', 'destroy'] as const;
type Action = (typeof ACTIONS)[number];

/**
 * Secrets of an environment, addressed by path (`…/secrets/payments/stripe/api-key`); actions are
 * custom methods on the path (`…/secrets/payments/stripe/api-key:reveal`). Metadata needs viewer,
 * writes editor (owner in protected environments), destroy owner; reveal needs a secret policy.
 */
@ApiTags('secrets')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/environments/:env/secrets`)
export class SecretController {
  constructor(private readonly secrets: SecretService) {}

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'The secrets the environment sees (its own and inherited), by path, without values' })
  list(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Query() q: SecretListQuery) {
    return this.secrets.list(p, env, q.prefix).then((items) => ({ items }));
  }

  @Get('*path')
  @Requires('viewer')
  @ApiParam({ name: 'path', description: 'the secret path, e.g. payments/stripe/api-key' })
  @ApiOperation({ summary: 'One secret: where it is defined, its current version and version history, without values' })
  get(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[]) {
    return this.secrets.get(p, env, plainPath(path));
  }

  @Put('*path')
  @Requires('editor')
  @ApiParam({ name: 'path', description: 'the secret path' })
  @ApiOperation({ summary: 'Write a new version (the first creates the secret); the value is encrypted and never echoed' })
  put(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Body() dto: PutSecretDto, @Writer() w: WriteContext) {
    return this.secrets.put(w, p, env, plainPath(path), dto.value);
  }

  @Delete('*path')
  @Requires('editor')
  @ApiParam({ name: 'path', description: 'the secret path' })
  @ApiOperation({ summary: 'Soft delete: hidden from reads and inheritance, versions kept (":restore" brings it back)' })
  remove(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Writer() w: WriteContext) {
    return this.secrets.remove(w, p, env, plainPath(path));
  }

  @Post('*path')
  @HttpCode(200)
  @Requires('viewer')
  @ApiParam({ name: 'path', description: 'the secret path with an action: "<path>:reveal", ":rollback", ":restore" or ":destroy"' })
  @ApiOperation({
    summary:
      'Actions on a secret: reveal (the value of a version; needs a secret policy; audited), rollback {version} (editor), restore (editor), destroy {version} (owner: the value is gone for good)',
  })
  act(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Body() dto: SecretVersionDto, @Writer() w: WriteContext) {
    const { secretPath, action } = withAction(path);
    switch (action) {
      case 'reveal':
        return this.secrets.reveal(w, { type: 'token', role: w.principal.role }, p, env, secretPath, dto.version);
      case 'rollback':
        needsRole(w, 'editor');
        return this.secrets.rollback(w, p, env, secretPath, mustVersion(dto));
      case 'restore':
        needsRole(w, 'editor');
        return this.secrets.restore(w, p, env, secretPath);
      case 'destroy':
        return this.secrets.destroy(w, p, env, secretPath, mustVersion(dto));
    }
  }
}

/** The path of GET, PUT and DELETE: segments joined by "/" (the domain validates it). */
function plainPath(segments: string[] | string): string {
  return (Array.isArray(segments) ? segments : [segments]).join('/');
}

function withAction(segments: string[] | string): { secretPath: string; action: Action } {
  const full = plainPath(segments);
  const at = full.lastIndexOf(':');
  const action = at < 0 ? '' : full.slice(at + 1);
  if (!(ACTIONS as readonly string[]).includes(action)) {
    throw new BadRequestError('unknown secret action', [{ path: 'path', message: `end the path with one of ${ACTIONS.map((a) => `":${a}"`).join(', ')}` }]);
  }
  return { secretPath: full.slice(0, at), action: action as Action };
}

function mustVersion(dto: SecretVersionDto): number {
  if (dto.version === undefined) throw new BadRequestError('version is required', [{ path: 'version', message: 'required: the version to act on' }]);
  return dto.version;
}

function needsRole(w: WriteContext, role: 'editor' | 'owner'): void {
  if (ROLE_RANK[w.principal.role] < ROLE_RANK[role]) throw new ForbiddenError(`this action needs the ${role} role`);
}
