import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe, UuidPipe } from '../common/key.pipe';
import { CreateSecretPolicyDto } from './secret.dto';
import { SecretService } from './secret.service';

/**
 * Read grants on secrets (deny by default): which roles and which server SDK keys may read which
 * paths in which environments. Listing needs viewer; a grant is a way to read, so changing them
 * needs owner.
 */
@ApiTags('secrets')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/secret-policies`)
export class SecretPolicyController {
  constructor(private readonly secrets: SecretService) {}

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'The read grants of the project, oldest first' })
  async list(@Param('project', KeyPipe) p: string) {
    return { items: await this.secrets.listPolicies(p) };
  }

  @Post()
  @Requires('owner')
  @ApiOperation({ summary: 'Grant a role (and the roles above it) or a server SDK key reading paths in environments' })
  async create(@Param('project', KeyPipe) p: string, @Body() dto: CreateSecretPolicyDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const subject = dto.subject.type === 'role' ? { type: 'role' as const, role: dto.subject.role! } : { type: 'sdk-key' as const, id: dto.subject.id!.toLowerCase() };
    const created = await this.secrets.createPolicy(w, p, { subject, paths: dto.paths, environments: dto.environments, description: dto.description ?? null });
    res.status(201);
    return created;
  }

  @Delete(':id')
  @HttpCode(204)
  @Requires('owner')
  @ApiOperation({ summary: 'Remove a grant' })
  async remove(@Param('project', KeyPipe) p: string, @Param('id', UuidPipe) id: string, @Writer() w: WriteContext) {
    await this.secrets.deletePolicy(w, p, id);
  }
}
