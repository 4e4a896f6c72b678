import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { NotFoundError } from '@flagstream/errors';
import { KEY_PATTERN } from '@flagstream/protocol';
import type { AdminRole, ApiTokenEntity, Repositories, Store } from '@flagstream/persistence';
import { Writer } from '../auth/current.decorator';
import { mustProject, present, type WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { issueSecret } from '../auth/secret-token';
import { ChangeService } from '../changes/change.service';
import { API } from '../common/api-path';
import { UuidPipe } from '../common/key.pipe';
import { PageQuery, pageOf } from '../common/page.query';
import { STORE } from '../common/tokens';

export class CreateTokenDto {
  @ApiProperty({ example: 'ci-pipeline' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({ enum: ['owner', 'editor', 'viewer'] })
  @IsIn(['owner', 'editor', 'viewer'])
  role!: AdminRole;

  @ApiPropertyOptional({ description: 'limit the token to this project' })
  @IsOptional()
  @IsString()
  @Matches(KEY_PATTERN, { message: 'project must be a project key' })
  project?: string;
}

/** Admin tokens: instance-wide owners only. */
@ApiTags('tokens')
@ApiBearerAuth()
@Controller(`${API}/tokens`)
export class TokenController {
  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly changes: ChangeService,
  ) {}

  @Get()
  @Requires('owner', { unscoped: true })
  async list(@Query() q: PageQuery) {
    const page = await this.store.read.credentials.listTokens(pageOf(q));
    const items = [];
    for (const t of page.items) items.push(await this.view(this.store.read, t));
    return { items, nextCursor: page.nextCursor };
  }

  /** Creates a token and returns it in `token`, this once; only its hash is kept. */
  @Post()
  @Requires('owner', { unscoped: true })
  create(@Body() dto: CreateTokenDto, @Writer() w: WriteContext) {
    return this.changes.write(w, async (tx) => {
      const project = dto.project ? await mustProject(tx, dto.project) : null;
      const issued = issueSecret('admin');
      const row = await tx.credentials.insertToken({ name: dto.name, role: dto.role, projectId: project?.id ?? null, prefix: issued.prefix, tokenHash: issued.hash, createdBy: w.principal.tokenId });
      const view = present.token(row, project?.key ?? null);
      return { result: { ...view, token: issued.secret }, audit: { action: 'token.created', target: { type: 'token', key: row.id }, project: project?.key ?? null, after: view } };
    });
  }

  @Delete(':id')
  @HttpCode(204)
  @Requires('owner', { unscoped: true })
  async revoke(@Param('id', UuidPipe) id: string, @Writer() w: WriteContext): Promise<void> {
    await this.changes.write(w, async (tx) => {
      const token = await tx.credentials.findToken(id);
      if (!token) throw new NotFoundError(`token ${id} does not exist`);
      const before = await this.view(tx, token);
      await tx.credentials.revokeToken(id);
      return { result: undefined, audit: { action: 'token.revoked', target: { type: 'token', key: id }, project: before.project, before } };
    });
  }

  private async view(r: Repositories, t: ApiTokenEntity) {
    const project = t.projectId ? await r.projects.findById(t.projectId) : null;
    return present.token(t, project?.key ?? null);
  }
}
