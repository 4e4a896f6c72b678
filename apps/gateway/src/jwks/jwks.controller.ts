import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { readPublishedJwks } from '@flagstream/changes';
import { BadRequestError } from '@flagstream/errors';
import type { PublicSigningJwk } from '@flagstream/persistence';
import { KEY_PATTERN_SOURCE, isValidKey } from '@flagstream/protocol';
import { GATEWAY_RUNTIME } from '../gateway.tokens';
import type { GatewayRuntime } from '../gateway.runtime';

/**
 * `GET /sdk/v1/projects/{project}/jwks.json`: the public keys that verify tokens signed with a
 * project's signing keys (next, current and previous; docs/secrets.md#signing-keys-and-jwks). No
 * authentication: they are public keys, read from Postgres without the KEK. Verifiers may cache
 * the answer for the project's `jwksCacheSeconds`, which the key lifecycle waits out.
 */
@Controller('sdk/v1/projects')
export class JwksController {
  constructor(@Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime) {}

  @Get(':project/jwks.json')
  async jwks(@Param('project') project: string, @Res({ passthrough: true }) res: Response): Promise<{ keys: PublicSigningJwk[] }> {
    if (!isValidKey(project)) throw new BadRequestError(`"${String(project).slice(0, 80)}" is not a valid project`, [{ path: 'project', message: `must match ${KEY_PATTERN_SOURCE}` }]);
    const published = await readPublishedJwks(this.runtime.deps.store.read, project);
    res.setHeader('Cache-Control', `public, max-age=${published.cacheSeconds}`);
    return { keys: published.keys };
  }
}
