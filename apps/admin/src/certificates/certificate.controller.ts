import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { WriteContext } from '@flagstream/changes';
import { BadRequestError } from '@flagstream/errors';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { IssueCertificateDto, UploadCertificateDto } from './certificate.dto';
import { CertificateService } from './certificate.service';

const ACTIONS = ['renew'] as const;

/**
 * Certificates of an environment, addressed by name (`…/certificates/tls/api`); actions are custom
 * methods on the name (`…/certificates/tls/api:renew`). Metadata needs viewer; every write needs
 * the owner role (a certificate's key lets its holder be the service). Private keys never leave
 * the service except through a secret the certificate is published to (docs/secrets.md#certificates).
 */
@ApiTags('certificates')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/environments/:env/certificates`)
export class CertificateController {
  constructor(private readonly certificates: CertificateService) {}

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'The live certificates of the environment: name, kind, current version, subject, issuer, validity and renewal time' })
  async list(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string) {
    return { items: await this.certificates.list(p, env) };
  }

  @Post()
  @Requires('owner')
  @ApiOperation({ summary: 'Issue a certificate from the project CA at a new name, its private key generated here; renewed at two thirds of its lifetime' })
  async issue(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Body() dto: IssueCertificateDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const { name, secretPath, ...spec } = dto;
    const view = await this.certificates.issue(w, p, env, name, { ...spec, secretPath });
    res.status(201);
    return view;
  }

  @Get('*path')
  @Requires('viewer')
  @ApiParam({ name: 'path', description: 'the certificate name, e.g. tls/api' })
  @ApiOperation({ summary: 'One certificate: its current chain (public), issuance and every version (subject, issuer, serial, validity, fingerprint, SANs), never a private key' })
  get(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[]) {
    return this.certificates.get(p, env, plainPath(path));
  }

  @Put('*path')
  @Requires('owner')
  @ApiParam({ name: 'path', description: 'the certificate name' })
  @ApiOperation({ summary: 'Upload a chain (leaf first) and its private key as a new version (the first creates the certificate); validated, the key encrypted and never echoed' })
  upload(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Body() dto: UploadCertificateDto, @Writer() w: WriteContext) {
    return this.certificates.upload(w, p, env, plainPath(path), dto);
  }

  @Delete('*path')
  @Requires('owner')
  @ApiParam({ name: 'path', description: 'the certificate name' })
  @ApiOperation({ summary: 'Delete: gone from lists and renewals, every version\'s private key destroyed; the metadata history is kept and the name is free again' })
  remove(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Writer() w: WriteContext) {
    return this.certificates.remove(w, p, env, plainPath(path));
  }

  @Post('*path')
  @HttpCode(200)
  @Requires('owner')
  @ApiParam({ name: 'path', description: 'the certificate name with an action: "<name>:renew"' })
  @ApiOperation({ summary: 'renew: a new version of an issued certificate now, with a new key (published to its secret path like a scheduled renewal)' })
  act(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Param('path') path: string[], @Writer() w: WriteContext) {
    const full = plainPath(path);
    const at = full.lastIndexOf(':');
    const action = at < 0 ? '' : full.slice(at + 1);
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new BadRequestError('unknown certificate action', [{ path: 'path', message: `end the name with one of ${ACTIONS.map((a) => `":${a}"`).join(', ')}` }]);
    }
    return this.certificates.renew(w, p, env, full.slice(0, at));
  }
}

/** The name: segments joined by "/" (the domain validates it). */
function plainPath(segments: string[] | string): string {
  return (Array.isArray(segments) ? segments : [segments]).join('/');
}
