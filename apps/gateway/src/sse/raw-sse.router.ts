import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { DomainError, type ErrorBody } from '@flagstream/errors';
import { findUnsafeInput } from '@flagstream/server';
import type { GatewayRuntime } from '../gateway.runtime';
import type { SdkPrincipal } from '../auth/sdk-key.auth';
import { OfrepEventsSubscriber } from '../ofrep/ofrep-events.subscriber';
import type { EnvironmentHub, HubSubscriber } from '../stream/environment-hub';
import { EvaluatedStreamSubscriber } from './evaluated-stream.subscriber';
import { ServerStreamSubscriber } from './server-stream.subscriber';
import { SseConnection } from './sse-connection';
import { parseContextParam, parseLastEventId } from './stream-params';

type Route = 'stream' | 'evaluated' | 'ofrep-events';

const ROUTES: Record<string, Route> = {
  '/sdk/v1/stream': 'stream',
  '/sdk/v1/stream/evaluated': 'evaluated',
  '/ofrep/v1/events': 'ofrep-events',
};

/**
 * The long-lived SSE streams, served on plain `node:http` ahead of Express. A stream lives for
 * hours: going through Express and Nest would keep each one's request pipeline (its own object
 * shapes, closures, a per-request logger) alive all that time and slow the fan-out loop that
 * writes one patch to every stream. Everything else stays in Nest.
 */
export class RawSseRouter {
  constructor(private readonly runtime: GatewayRuntime) {}

  /** Puts the router in front of the server's other request listeners (Express). */
  install(server: Server): void {
    const others = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!this.handle(req, res)) for (const l of others) l.call(server, req, res);
    });
  }

  /** True when the request is one of the SSE routes (and is being answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = new URL(req.url ?? '/', 'http://gateway');
    const route = ROUTES[url.pathname];
    if (!route) return false;
    const requestId = requestIdOf(req, res);
    this.serve(route, req, res, url).catch((err: unknown) => this.fail(route, req, res, err, requestId));
    return true;
  }

  private async serve(route: Route, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const query = Object.fromEntries(url.searchParams);
    const unsafe = findUnsafeInput(query);
    if (unsafe.length) throw new RequestError(400, 'request is not valid', unsafe);
    allowOrigin(req, res);
    const apiKey = req.headers['x-api-key'];
    const sources = { authorization: req.headers.authorization, apiKey: typeof apiKey === 'string' ? apiKey : undefined, query: query.key };
    const principal = await this.runtime.auth.authenticate(sources, route === 'stream' ? ['server'] : ['server', 'client']);
    const lastEventId = req.headers['last-event-id'] ?? query.lastEventId;
    const context = route === 'evaluated' ? parseContextParam(query.context) : {};
    const hub = await this.runtime.hubs.acquire(principal.environmentId);
    const lastRevision = parseLastEventId(lastEventId);
    if (route === 'stream' && lastRevision !== null) await this.runtime.hubs.catchUp(hub, lastRevision);
    if (req.socket.destroyed) return;

    const conn = this.open(principal, res);
    switch (route) {
      case 'stream': {
        const sub = new ServerStreamSubscriber(hub, conn);
        this.attach(hub, sub, conn);
        this.runtime.metrics.messages.inc({ transport: 'sse', kind: sub.start(lastRevision) });
        return;
      }
      case 'evaluated': {
        const sub = new EvaluatedStreamSubscriber(hub, conn, context, principal.kind === 'client');
        this.attach(hub, sub, conn);
        sub.start();
        this.runtime.metrics.messages.inc({ transport: 'sse', kind: 'snapshot' });
        return;
      }
      case 'ofrep-events': {
        const sub = new OfrepEventsSubscriber(conn);
        this.attach(hub, sub, conn);
        // ADR 0008: a reconnecting provider that missed revisions is told to re-fetch at once.
        if (lastRevision !== null && lastRevision < hub.revision) sub.onReset();
        return;
      }
    }
  }

  private open(principal: SdkPrincipal, res: ServerResponse): SseConnection {
    const { config } = this.runtime.deps;
    this.runtime.connections.assertCapacity(principal.keyId);
    return new SseConnection(principal.keyId, res, { maxBufferedBytes: config.maxBufferedBytes, retryMs: config.retryMs }, () =>
      this.runtime.metrics.dropped.inc({ reason: 'slow' }),
    );
  }

  /** Registers the stream (per-key limit, revocation, heartbeats) and cleans up when it closes. */
  private attach(hub: EnvironmentHub, sub: HubSubscriber, conn: SseConnection): void {
    let release: () => void;
    try {
      release = this.runtime.connections.add(conn);
    } catch (e) {
      conn.close('limit');
      throw e;
    }
    hub.subscribers.add(sub);
    this.runtime.sse.add(conn);
    conn.onClose(() => {
      hub.subscribers.delete(sub);
      this.runtime.sse.delete(conn);
      release();
    });
  }

  private fail(route: Route, req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let status = 500;
    let body: ErrorBody = { error: { code: 'INTERNAL', message: `internal error; quote error id ${requestId} when reporting it`, details: [], requestId } };
    if (err instanceof DomainError) {
      status = err.status;
      body = { error: { code: err.code, message: err.message, details: [...err.details], requestId } };
    } else if (err instanceof RequestError) {
      status = err.status;
      body = { error: { code: 'VALIDATION_FAILED', message: err.message, details: err.details, requestId } };
    } else {
      this.runtime.deps.logger.error({ err, requestId, path: req.url?.split('?')[0] }, 'stream request failed');
    }
    const payload = route === 'ofrep-events' ? { errorCode: status === 400 ? 'INVALID_CONTEXT' : 'GENERAL', errorDetails: body.error.message } : body;
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(payload));
  }
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: ErrorBody['error']['details'],
  ) {
    super(message);
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** Browsers' EventSource from another origin (the evaluated stream, OFREP's event stream). */
function allowOrigin(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  if (typeof origin === 'string') {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
  }
}
