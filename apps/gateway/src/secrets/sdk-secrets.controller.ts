import { Controller, Get, Header, Inject, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ForbiddenError, ServiceUnavailableError } from '@flagstream/errors';
import type { SdkSecretsV1 } from '@flagstream/protocol';
import { GATEWAY_RUNTIME } from '../gateway.tokens';
import type { GatewayRuntime } from '../gateway.runtime';
import { EventsOverloadedError } from '../events/events-overloaded.error';

/**
 * `GET /sdk/v1/secrets`: the secrets a server SDK key may read in its environment, with their
 * values, audited per request. Client keys are refused. Values never travel in the stream: a
 * `secret.changed` notice there tells the SDK to fetch again.
 */
@Controller('sdk/v1')
export class SdkSecretsController {
  constructor(@Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime) {}

  @Get('secrets')
  @Header('Cache-Control', 'no-store')
  async read(@Req() req: Request): Promise<SdkSecretsV1> {
    const apiKey = req.headers['x-api-key'];
    const principal = await this.runtime.auth.authenticate({ authorization: req.headers.authorization, apiKey: typeof apiKey === 'string' ? apiKey : undefined });
    if (principal.kind !== 'server') throw new ForbiddenError('client SDK keys can never read secrets');
    const secrets = this.runtime.deps.secrets;
    if (!secrets) throw new ServiceUnavailableError('this gateway does not serve secrets: it needs FLAGSTREAM_AUDIT_KEY and FLAGSTREAM_KEK (docs/secrets.md)');
    const wait = this.runtime.rateLimit(principal.keyId, 'secrets');
    if (wait !== null) {
      req.res?.setHeader('Retry-After', String(wait));
      throw new EventsOverloadedError('rate limit exceeded for this SDK key; retry later', wait);
    }
    return secrets.readForSdkKey(principal.keyId, typeof req.id === 'string' ? req.id : null);
  }
}
