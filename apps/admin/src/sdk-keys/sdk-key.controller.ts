import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength, MinLength } from 'class-validator';
import { NotFoundError } from '@flagstream/errors';
import type { SdkKeyKind, Store } from '@flagstream/persistence';
import { Writer } from '../auth/current.decorator';
import { mustEnvironment, mustProject, present, type WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { issueSecret } from '../auth/secret-token';
import { ChangeService } from '../changes/change.service';
import { API } from '../common/api-path';
import { KeyPipe, UuidPipe } from '../common/key.pipe';
import { PageQuery, pageOf } from '../common/page.query';
import { STORE } from '../common/tokens';

export class CreateSdkKeyDto {
  @ApiProperty({ enum: ['server', 'client'], description: 'server: full rules, local evaluation; client: safe in browsers' })
  @IsIn(['server', 'client'])
  kind!: SdkKeyKind;

  @ApiProperty({ example: 'checkout-service' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;
}

@ApiTags('sdk-keys')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/environments/:env/sdk-keys`)
export class SdkKeyController {
  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly changes: ChangeService,
  ) {}

  /** Lists keys by prefix; the keys themselves are never shown again. */
  @Get()
  @Requires('viewer')
  async list(@Param('project', KeyPipe) projectKey: string, @Param('env', KeyPipe) envKey: string, @Query() q: PageQuery) {
    const project = await mustProject(this.store.read, projectKey);
    const env = await mustEnvironment(this.store.read, project, envKey);
    const page = await this.store.read.credentials.listSdkKeys(env.id, pageOf(q));
    return { items: page.items.map((k) => present.sdkKey(k, env.key)), nextCursor: page.nextCursor };
  }

  /** Creates a key and returns it in `key`, this once. */
  @Post()
  @Requires('editor')
  create(@Param('project', KeyPipe) projectKey: string, @Param('env', KeyPipe) envKey: string, @Body() dto: CreateSdkKeyDto, @Writer() w: WriteContext) {
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const env = await mustEnvironment(tx, project, envKey);
      const issued = issueSecret(dto.kind);
      const row = await tx.credentials.insertSdkKey({ environmentId: env.id, kind: dto.kind, name: dto.name, prefix: issued.prefix, keyHash: issued.hash, createdBy: w.principal.tokenId });
      const view = present.sdkKey(row, env.key);
      return {
        result: { ...view, key: issued.secret },
        audit: { action: 'sdk_key.created', target: { type: 'sdk_key', key: row.id }, project: project.key, environment: env.key, after: view },
      };
    });
  }

  /** Revokes at once: the next request with the key is refused. */
  @Delete(':id')
  @HttpCode(204)
  @Requires('editor')
  async revoke(
    @Param('project', KeyPipe) projectKey: string,
    @Param('env', KeyPipe) envKey: string,
    @Param('id', UuidPipe) id: string,
    @Writer() w: WriteContext,
  ): Promise<void> {
    await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const env = await mustEnvironment(tx, project, envKey);
      const key = await tx.credentials.findSdkKey(env.id, id);
      if (!key) throw new NotFoundError(`SDK key ${id} does not exist in environment "${envKey}"`);
      const before = present.sdkKey(key, env.key);
      await tx.credentials.revokeSdkKey(id);
      return { result: undefined, audit: { action: 'sdk_key.revoked', target: { type: 'sdk_key', key: id }, project: project.key, environment: env.key, before } };
    });
  }
}
