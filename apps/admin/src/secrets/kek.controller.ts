import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { KekMaintenance } from '@flagstream/changes';
import { ServiceUnavailableError } from '@flagstream/errors';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KEK_MAINTENANCE } from './secret.tokens';

/**
 * The key-encryption keyring as operators need it: versions, the minimum, how many ciphertexts
 * each version holds and how many wait for the rewrap, wraps per version. Never key material.
 */
@ApiTags('secrets')
@ApiBearerAuth()
@Controller(`${API}/kek`)
export class KekController {
  constructor(@Inject(KEK_MAINTENANCE) private readonly kek: KekMaintenance | null) {}

  @Get()
  @Requires('owner', { unscoped: true })
  @ApiOperation({ summary: 'Keyring status: current and available versions, minimum decryption version, ciphertexts per version, pending rewrap, nonce use' })
  status() {
    if (!this.kek) throw new ServiceUnavailableError('this admin has no key-encryption keyring');
    return this.kek.status();
  }
}
