import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { KidPipe } from './kid.pipe';
import { GenerateSigningKeyDto, RotateSigningKeyDto, SigningKeyForceDto } from './signing-key.dto';
import { SigningKeyService } from './signing-key.service';

/**
 * The signing keys of a project (docs/secrets.md#signing-keys-and-jwks): public halves and
 * lifecycle for viewers; every change needs the owner role, since a signing key vouches for
 * whatever it signs. Private keys never leave the service. The public JWKS is the gateway's
 * `GET /sdk/v1/projects/{project}/jwks.json`.
 */
@ApiTags('signing keys')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/signing-keys`)
export class SigningKeyController {
  constructor(private readonly keys: SigningKeyService) {}

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'Every key of the project, newest first: kid, algorithm, status, public JWK and lifecycle times (never the private key)' })
  async list(@Param('project', KeyPipe) p: string) {
    return { items: await this.keys.list(p) };
  }

  @Post()
  @Requires('owner')
  @ApiOperation({ summary: 'Generate a key pair as "next": published in the JWKS, not signing yet (one next key per project)' })
  async generate(@Param('project', KeyPipe) p: string, @Body() dto: GenerateSigningKeyDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const key = await this.keys.generate(w, p, dto.algorithm);
    res.status(201);
    return key;
  }

  @Post('rotate')
  @HttpCode(200)
  @Requires('owner')
  @ApiOperation({ summary: 'Generate a key and make it current at once (the old current key becomes previous); for emergencies, as verifiers may not have it cached yet' })
  rotate(@Param('project', KeyPipe) p: string, @Body() dto: RotateSigningKeyDto, @Writer() w: WriteContext) {
    return this.keys.rotate(w, p, dto.algorithm);
  }

  @Post(':kid/activate')
  @HttpCode(200)
  @Requires('owner')
  @ApiOperation({ summary: 'Make a next key current; the old current key stays published as previous for tokenLifetimeSeconds + jwksCacheSeconds. 409 if published less than jwksCacheSeconds ago, unless force' })
  activate(@Param('project', KeyPipe) p: string, @Param('kid', KidPipe) kid: string, @Body() dto: SigningKeyForceDto, @Writer() w: WriteContext) {
    return this.keys.activate(w, p, kid, { force: dto.force === true });
  }

  @Post(':kid/retire')
  @HttpCode(200)
  @Requires('owner')
  @ApiOperation({ summary: 'Retire a previous or next key: it leaves the JWKS and its private key is destroyed. 409 for a previous key before its retireAfter, unless force' })
  retire(@Param('project', KeyPipe) p: string, @Param('kid', KidPipe) kid: string, @Body() dto: SigningKeyForceDto, @Writer() w: WriteContext) {
    return this.keys.retire(w, p, kid, { force: dto.force === true });
  }
}
