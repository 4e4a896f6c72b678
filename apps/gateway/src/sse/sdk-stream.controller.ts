import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { ValidationError } from '@flagstream/errors';
import { GATEWAY_RUNTIME } from '../gateway.tokens';
import type { GatewayRuntime } from '../gateway.runtime';

/** Acknowledgements of SSE clients (the streams themselves are served by RawSseRouter). */
@Controller('sdk/v1')
export class SdkStreamController {
  constructor(@Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime) {}

  /** SSE clients acknowledge the revision they applied (propagation receipts). */
  @Post('ack')
  @HttpCode(204)
  async ack(@Req() req: Request, @Body() body: unknown): Promise<void> {
    const principal = await this.runtime.auth.authenticate(this.sources(req));
    const revision = (body as { revision?: unknown } | null)?.revision;
    if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 1) {
      throw new ValidationError('ack needs the revision you applied', [{ path: 'revision', message: 'must be a positive integer' }]);
    }
    this.runtime.acknowledge(principal.environmentId, revision);
  }

  private sources(req: Request) {
    const apiKey = req.headers['x-api-key'];
    return { authorization: req.headers.authorization, apiKey: typeof apiKey === 'string' ? apiKey : undefined, query: req.query.key };
  }
}
