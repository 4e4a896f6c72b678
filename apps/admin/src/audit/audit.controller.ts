import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ValidationError } from '@flagstream/errors';
import type { Store } from '@flagstream/persistence';
import { KEY_PATTERN } from '@flagstream/protocol';
import { Writer } from '../auth/current.decorator';
import type { WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { PageQuery, pageOf } from '../common/page.query';
import { STORE } from '../common/tokens';

export class AuditQueryDto extends PageQuery {
  @ApiPropertyOptional() @IsOptional() @Matches(KEY_PATTERN, { message: 'project must be a project key' }) project?: string;
  @ApiPropertyOptional() @IsOptional() @Matches(KEY_PATTERN, { message: 'environment must be an environment key' }) environment?: string;
  @ApiPropertyOptional({ example: 'flag' }) @IsOptional() @IsString() @MaxLength(64) targetType?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) targetKey?: string;
  @ApiPropertyOptional({ example: 'flag.turned_off' }) @IsOptional() @IsString() @MaxLength(64) action?: string;
  @ApiPropertyOptional({ description: 'token id of the actor' }) @IsOptional() @IsString() @MaxLength(64) actor?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, inclusive' }) @IsOptional() @IsISO8601({ strict: true }) since?: string;
  @ApiPropertyOptional({ description: 'ISO 8601, exclusive' }) @IsOptional() @IsISO8601({ strict: true }) until?: string;
}

@ApiTags('audit')
@ApiBearerAuth()
@Controller(`${API}/audit`)
export class AuditController {
  constructor(@Inject(STORE) private readonly store: Store) {}

  /** Newest first. A project-scoped token sees its project's events only. */
  @Get()
  @Requires('viewer')
  query(@Query() q: AuditQueryDto, @Writer() w: WriteContext) {
    if (q.since && q.until && new Date(q.since) >= new Date(q.until)) {
      throw new ValidationError('since must be earlier than until', [{ path: 'since', message: `${q.since} is not before ${q.until}` }]);
    }
    const scope = w.principal.projectKey;
    return this.store.read.audit.query({
      ...pageOf(q),
      project: q.project,
      projects: scope ? [scope] : undefined,
      environment: q.environment,
      targetType: q.targetType,
      targetKey: q.targetKey,
      action: q.action,
      actorId: q.actor,
      since: q.since ? new Date(q.since) : undefined,
      until: q.until ? new Date(q.until) : undefined,
    });
  }

  /** Walks the whole hash chain: `{ ok: true }` or the first broken sequence number. */
  @Get('verify')
  @Requires('owner', { unscoped: true })
  verify() {
    return this.store.read.audit.verify();
  }
}
