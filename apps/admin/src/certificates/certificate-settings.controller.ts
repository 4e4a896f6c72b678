import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { CertificateSettingsDto } from './certificate.dto';
import { CertificateService } from './certificate.service';

/** The expiry alert thresholds of an environment's certificates. */
@ApiTags('certificates')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/environments/:env/certificate-settings`)
export class CertificateSettingsController {
  constructor(private readonly certificates: CertificateService) {}

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'The expiry alert thresholds (defaults [30, 7, 1] until set)' })
  get(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string) {
    return this.certificates.settings(p, env);
  }

  @Put()
  @Requires('owner')
  @ApiOperation({ summary: 'Replace the expiry alert thresholds (days before expiry; an alert per threshold and version)' })
  put(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Body() dto: CertificateSettingsDto, @Writer() w: WriteContext) {
    return this.certificates.updateSettings(w, p, env, { alertDaysBefore: dto.alertDaysBefore });
  }
}
