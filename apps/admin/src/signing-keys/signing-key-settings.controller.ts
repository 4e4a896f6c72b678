import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { SigningKeySettingsDto } from './signing-key.dto';
import { SigningKeyService } from './signing-key.service';

/** Token lifetime, JWKS cache time and scheduled rotation of a project's signing keys. */
@ApiTags('signing keys')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/signing-key-settings`)
export class SigningKeySettingsController {
  constructor(private readonly keys: SigningKeyService) {}

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'The settings (defaults until set) and the overlap window they imply' })
  get(@Param('project', KeyPipe) p: string) {
    return this.keys.settings(p);
  }

  @Put()
  @Requires('owner')
  @ApiOperation({ summary: 'Replace the settings; a rotation interval must be at least tokenLifetimeSeconds + jwksCacheSeconds' })
  put(@Param('project', KeyPipe) p: string, @Body() dto: SigningKeySettingsDto, @Writer() w: WriteContext) {
    return this.keys.updateSettings(w, p, { tokenLifetimeSeconds: dto.tokenLifetimeSeconds, jwksCacheSeconds: dto.jwksCacheSeconds, rotationIntervalDays: dto.rotationIntervalDays ?? null });
  }
}
