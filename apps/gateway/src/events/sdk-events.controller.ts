import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ValidationError } from '@flagstream/errors';
import type { NewSdkEvent } from '@flagstream/persistence';
import { checkSdkEventsBatchV1, sdkEventTime, type SdkEventsAcceptedV1, type SdkEventsBatchV1 } from '@flagstream/protocol';
import { GATEWAY_RUNTIME } from '../gateway.tokens';
import type { GatewayRuntime } from '../gateway.runtime';
import type { SdkPrincipal } from '../auth/sdk-key.auth';
import { EventsOverloadedError } from './events-overloaded.error';
import { throwBodyReadFailure } from './events-body.reader';

/** At most this many problems are listed in a 400 (the message gives the total). */
const MAX_DETAILS = 20;

/** `POST /sdk/v1/events`: exposures and metric events from SDKs (server and client keys). */
@Controller('sdk/v1')
export class SdkEventsController {
  constructor(@Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime) {}

  @Post('events')
  @HttpCode(202)
  async intake(@Req() req: Request, @Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<SdkEventsAcceptedV1> {
    throwBodyReadFailure(req);
    const apiKey = req.headers['x-api-key'];
    const principal = await this.runtime.auth.authenticate({ authorization: req.headers.authorization, apiKey: typeof apiKey === 'string' ? apiKey : undefined, query: req.query.key });
    const size = Array.isArray((body as { events?: unknown } | null)?.events) ? (body as { events: unknown[] }).events.length : 0;
    const { events } = this.runtime;

    const wait = this.runtime.rateLimit(principal.keyId, 'events');
    if (wait !== null) {
      events.reject('rate_limited', size);
      res.setHeader('Retry-After', String(wait));
      throw new EventsOverloadedError('rate limit exceeded for this SDK key; retry later', wait);
    }

    const receivedAt = Date.now();
    const problems = checkSdkEventsBatchV1(body, receivedAt);
    if (problems.length) {
      events.reject('invalid', size);
      const more = problems.length > MAX_DETAILS ? ` (the first ${MAX_DETAILS} are listed)` : '';
      throw new ValidationError(`the batch was refused whole: ${problems.length} problem${problems.length === 1 ? '' : 's'}${more}; no event of it was stored`, problems.slice(0, MAX_DETAILS));
    }

    const rows = toRows((body as SdkEventsBatchV1).events, principal, new Date(receivedAt));
    const offer = events.offer(rows);
    if (!offer.queued) {
      res.setHeader('Retry-After', String(offer.retryAfterSeconds));
      throw new EventsOverloadedError(
        offer.reason === 'too-large'
          ? `this batch of ${rows.length} events is larger than the gateway's event queue (${events.capacity}); send smaller batches`
          : offer.reason === 'closed'
            ? 'the gateway is shutting down; send the batch again (to another gateway)'
            : 'the gateway is storing as many events as it can hold; nothing of this batch was accepted; retry later',
        offer.retryAfterSeconds,
      );
    }
    return { accepted: rows.length };
  }
}

function toRows(events: SdkEventsBatchV1['events'], principal: SdkPrincipal, receivedAt: Date): NewSdkEvent[] {
  const base = { environmentId: principal.environmentId, sdkKeyId: principal.keyId, receivedAt };
  return events.map((e): NewSdkEvent => {
    const occurredAt = new Date(sdkEventTime(e.timestamp));
    switch (e.kind) {
      case 'exposure': {
        const row: NewSdkEvent = { ...base, kind: 'exposure', flag: e.flag, variation: e.variation, contextKey: e.contextKey, occurredAt };
        // The schema has made sure that a unit comes only with an experiment.
        if (e.experiment !== undefined) {
          row.experiment = e.experiment;
          if (e.unit !== undefined) row.unit = e.unit;
        }
        return row;
      }
      case 'metric':
        return { ...base, kind: 'metric', name: e.name, value: e.value, contextKey: e.contextKey, occurredAt };
    }
  });
}
