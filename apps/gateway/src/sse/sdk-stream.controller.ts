import { Body, Controller, Get, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ValidationError } from '@flagstream/errors';
import { GATEWAY_RUNTIME } from '../gateway.tokens';
import type { GatewayRuntime } from '../gateway.runtime';
import type { SdkPrincipal } from '../auth/sdk-key.auth';
import { parseContextParam, parseLastEventId } from './stream-params';
import { SseConnection } from './sse-connection';
import { ServerStreamSubscriber } from './server-stream.subscriber';
import { EvaluatedStreamSubscriber } from './evaluated-stream.subscriber';
import type { HubSubscriber } from '../stream/environment-hub';

/** The SDK-facing SSE streams and the acknowledgement endpoint. */
@Controller('sdk/v1')
export class SdkStreamController {
  constructor(@Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime) {}

  /** Server keys: snapshot, then one `patch` per revision; resumes from `Last-Event-ID`. */
  @Get('stream')
  async stream(@Req() req: Request, @Res() res: Response): Promise<void> {
    const principal = await this.runtime.auth.authenticate(this.sources(req), ['server']);
    const lastRevision = parseLastEventId(req.headers['last-event-id'] ?? req.query.lastEventId);
    const hub = await this.runtime.hubs.acquire(principal.environmentId);
    if (lastRevision !== null) await this.runtime.hubs.catchUp(hub, lastRevision);
    if (req.socket.destroyed) return;
    const conn = this.open(principal, res);
    const sub = new ServerStreamSubscriber(hub, conn);
    this.attach(hub.subscribers, sub, conn);
    this.runtime.metrics.messages.inc({ transport: 'sse', kind: sub.start(lastRevision) });
  }

  /** Client keys (and server keys): values for one context, never rules; only changes after that. */
  @Get('stream/evaluated')
  async evaluated(@Req() req: Request, @Res() res: Response): Promise<void> {
    const principal = await this.runtime.auth.authenticate(this.sources(req));
    const context = parseContextParam(req.query.context);
    const hub = await this.runtime.hubs.acquire(principal.environmentId);
    const conn = this.open(principal, res);
    const sub = new EvaluatedStreamSubscriber(hub, conn, context, principal.kind === 'client');
    this.attach(hub.subscribers, sub, conn);
    sub.start();
    this.runtime.metrics.messages.inc({ transport: 'sse', kind: 'snapshot' });
  }

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

  private open(principal: SdkPrincipal, res: Response): SseConnection {
    const { config } = this.runtime.deps;
    this.runtime.connections.assertCapacity(principal.keyId);
    const conn = new SseConnection(principal.keyId, res, { maxBufferedBytes: config.maxBufferedBytes, retryMs: config.retryMs }, () =>
      this.runtime.metrics.dropped.inc({ reason: 'slow' }),
    );
    return conn;
  }

  /** Registers the stream (limit per key, revocation, heartbeats) and cleans up when it closes. */
  private attach(subscribers: Set<HubSubscriber>, sub: HubSubscriber, conn: SseConnection): void {
    let release: () => void;
    try {
      release = this.runtime.connections.add(conn);
    } catch (e) {
      conn.close('limit');
      throw e;
    }
    subscribers.add(sub);
    this.runtime.sse.add(conn);
    conn.onClose(() => {
      subscribers.delete(sub);
      this.runtime.sse.delete(conn);
      release();
    });
  }
}
