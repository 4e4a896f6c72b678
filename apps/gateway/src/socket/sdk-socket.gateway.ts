import { Inject } from '@nestjs/common';
import { WebSocketGateway, WebSocketServer, type OnGatewayConnection, type OnGatewayDisconnect } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { DomainError } from '@flagstream/errors';
import { GATEWAY_RUNTIME } from '../gateway.tokens';
import type { GatewayRuntime } from '../gateway.runtime';
import { parseContextObject } from '../sse/stream-params';
import { EvaluatedStreamSubscriber, type MessageSink } from '../sse/evaluated-stream.subscriber';
import type { EnvironmentHub, HubSubscriber, PublishedPatch } from '../stream/environment-hub';

/** Engine.io packets queued for one socket beyond which it is dropped (it will resume). */
const MAX_QUEUED_PACKETS = 1000;

/** Packets engine.io has queued for this socket (not yet written to its transport). */
function queued(socket: Socket): number {
  return (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
}

interface Handshake {
  key?: unknown;
  revision?: unknown;
  context?: unknown;
}

/**
 * All server-key sockets of one environment, as one hub subscriber: each patch is broadcast to
 * the environment's room, which socket.io encodes once for every socket in it.
 */
class RoomSubscriber implements HubSubscriber {
  readonly keyId = '*';
  constructor(
    private readonly nsp: Namespace,
    private readonly hub: EnvironmentHub,
    readonly room: string,
  ) {}

  get size(): number {
    return this.nsp.adapter.rooms.get(this.room)?.size ?? 0;
  }

  onPatch(patch: PublishedPatch): void {
    this.dropSlow();
    this.nsp.to(this.room).emit('patch', patch.message);
  }

  onReset(): void {
    this.nsp.to(this.room).emit('snapshot', this.hub.snapshot().message);
  }

  close(reason: string): void {
    this.nsp.in(this.room).disconnectSockets(true);
    void reason;
  }

  private dropSlow(): void {
    for (const id of this.nsp.adapter.rooms.get(this.room) ?? []) {
      const socket = this.nsp.sockets.get(id);
      if (socket && queued(socket) > MAX_QUEUED_PACKETS) socket.disconnect(true);
    }
  }
}

/** A socket as a message sink for evaluated (client-key) streams. */
class SocketSink implements MessageSink {
  constructor(
    readonly keyId: string,
    private readonly socket: Socket,
  ) {}
  send(event: 'snapshot' | 'patch', _revision: number, payload: unknown): void {
    if (queued(this.socket) > MAX_QUEUED_PACKETS) {
      this.socket.disconnect(true);
      return;
    }
    this.socket.emit(event, payload);
  }
  close(): void {
    this.socket.disconnect(true);
  }
}

/**
 * socket.io namespace `/sdk`: the same messages as the SSE streams. The handshake's `auth` carries
 * `{ key, revision?, context? }`: server keys get `snapshot` / `patch` (resuming after `revision`),
 * client keys get evaluated values for `context`. SDKs `emit('ack', { revision })` after applying.
 */
@WebSocketGateway({ namespace: '/sdk', cors: { origin: true }, maxHttpBufferSize: 64 * 1024 })
export class SdkSocketGateway implements OnGatewayConnection, OnGatewayDisconnect {
  @WebSocketServer() private readonly nsp!: Namespace;
  private readonly rooms = new Map<string, RoomSubscriber>();
  private readonly cleanups = new Map<string, () => void>();

  constructor(@Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime) {}

  async handleConnection(socket: Socket): Promise<void> {
    try {
      await this.accept(socket);
    } catch (e) {
      const status = e instanceof DomainError ? e.status : 500;
      const message = e instanceof DomainError ? e.message : 'internal error';
      socket.emit('failure', { status, code: e instanceof DomainError ? e.code : 'INTERNAL', message });
      socket.disconnect(true);
      if (!(e instanceof DomainError)) this.runtime.deps.logger.error({ err: e }, 'socket connection failed');
    }
  }

  handleDisconnect(socket: Socket): void {
    this.cleanups.get(socket.id)?.();
    this.cleanups.delete(socket.id);
  }

  private async accept(socket: Socket): Promise<void> {
    const hs = (socket.handshake.auth ?? {}) as Handshake;
    const authorization = typeof hs.key === 'string' ? hs.key : socket.handshake.headers.authorization;
    const principal = await this.runtime.auth.authenticate({ authorization });
    const hub = await this.runtime.hubs.acquire(principal.environmentId);
    if (socket.disconnected) return;
    const release = this.runtime.connections.add({ keyId: principal.keyId, transport: 'socket.io', close: () => socket.disconnect(true) });
    socket.on('ack', (msg: unknown) => {
      const revision = (msg as { revision?: unknown } | null)?.revision;
      if (typeof revision === 'number' && Number.isSafeInteger(revision) && revision > 0) this.runtime.acknowledge(principal.environmentId, revision);
    });

    if (principal.kind === 'client' || hs.context !== undefined) {
      const sub = new EvaluatedStreamSubscriber(hub, new SocketSink(principal.keyId, socket), parseContextObject(hs.context), principal.kind === 'client');
      hub.subscribers.add(sub);
      this.cleanups.set(socket.id, () => {
        hub.subscribers.delete(sub);
        release();
      });
      sub.start();
      this.runtime.metrics.messages.inc({ transport: 'socket.io', kind: 'snapshot' });
      return;
    }

    const last = typeof hs.revision === 'number' && Number.isSafeInteger(hs.revision) ? hs.revision : null;
    if (last !== null) await this.runtime.hubs.catchUp(hub, last);
    if (socket.disconnected) {
      release();
      return;
    }
    // Catch up this socket alone, then join the room: no await in between, so nothing is missed.
    const missed = last === null ? null : hub.since(last);
    if (missed) for (const p of missed) socket.emit('patch', p.message);
    else socket.emit('snapshot', hub.snapshot().message);
    this.runtime.metrics.messages.inc({ transport: 'socket.io', kind: missed ? 'resumed' : 'snapshot' });
    const room = `env:${hub.environmentId}`;
    if (!this.rooms.has(room)) {
      const sub = new RoomSubscriber(this.nsp, hub, room);
      this.rooms.set(room, sub);
      hub.subscribers.add(sub);
    }
    await socket.join(room);
    this.cleanups.set(socket.id, release);
  }
}
