import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { CreateAuthorityDto } from './certificate.dto';
import { CertificateService } from './certificate.service';

/** The project's certificate authority: its public certificate for viewers; creating it needs an owner. */
@ApiTags('certificates')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/certificate-authority`)
export class CertificateAuthorityController {
  constructor(private readonly certificates: CertificateService) {}

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'The project CA: its certificate (PEM, to trust) and metadata, and the CAs it replaced; never a private key. 404 before one is created' })
  get(@Param('project', KeyPipe) p: string) {
    return this.certificates.authority(p);
  }

  @Post()
  @Requires('owner')
  @ApiOperation({ summary: 'Create the project CA: self-signed ECDSA P-256, "CN=<name>", its private key encrypted. When one exists, 409 unless "replace": true (the new one issues; older ones keep renewing what they issued)' })
  async create(@Param('project', KeyPipe) p: string, @Body() dto: CreateAuthorityDto, @Writer() w: WriteContext, @Res({ passthrough: true }) res: Response) {
    const view = await this.certificates.createAuthority(w, p, dto);
    res.status(201);
    return view;
  }
}
