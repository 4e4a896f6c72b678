import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { StreamHttpError, type StreamEvent } from '../transport';
import { SocketIoTransport } from './socket-io.transport';

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A stand-in for the gateway's namespace /sdk: the test decides what each connection gets. */
describe('SocketIoTransport', () => {
  let http: HttpServer;
  let io: Server;
  let url: string;
  let onConnection: (socket: ServerSocket) => void;
  const sockets: ServerSocket[] = [];
  const acks: unknown[] = [];

  beforeEach(async () => {
    sockets.length = 0;
    acks.length = 0;
    http = createServer();
    io = new Server(http, { path: '/prefix/socket.io' });
    io.of('/sdk').on('connection', (socket) => {
      sockets.push(socket);
      socket.on('ack', (m: unknown) => acks.push(m));
      onConnection(socket);
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/prefix`;
  });
  afterEach(async () => {
    await new Promise<void>((r) => {
      void io.close(() => r());
    });
  });

  function openWith(transport: SocketIoTransport, lastEventId?: string) {
    const controller = new AbortController();
    const messages: Array<[StreamEvent, unknown]> = [];
    let opened = 0;
    const done = transport.open({ lastEventId, signal: controller.signal, onOpen: () => opened++, onMessage: (e, m) => messages.push([e, m]) });
    return { controller, messages, done, opened: () => opened };
  }

  it('sends the key and revision in the handshake, delivers objects, acks on the socket, and disconnects on abort', async () => {
    onConnection = (socket) => {
      socket.emit('patch', { v: 1, revision: 8 });
      socket.emit('snapshot', { v: 1, revision: 9 });
    };
    const transport = new SocketIoTransport({ baseUrl: url, sdkKey: 'fs_server_x' });
    const c = openWith(transport, '7');
    await until(() => c.messages.length === 2);
    // One revision back, so that the real gateway always answers with at least one message.
    expect(sockets[0].handshake.auth).toEqual({ key: 'fs_server_x', revision: 6 });
    expect(c.opened()).toBe(1);
    expect(c.messages).toEqual([
      ['patch', { v: 1, revision: 8 }],
      ['snapshot', { v: 1, revision: 9 }],
    ]);
    await transport.ack(9);
    await until(() => acks.length === 1);
    expect(acks).toEqual([{ revision: 9 }]);
    c.controller.abort();
    await expect(c.done).resolves.toBeUndefined();
    await until(() => sockets[0].disconnected);
    // After the socket is gone, acks are dropped quietly.
    await expect(transport.ack(10)).resolves.toBeUndefined();
  });

  it('turns a failure event into a StreamHttpError with the status', async () => {
    onConnection = (socket) => {
      socket.emit('failure', { status: 401, code: 'UNAUTHORIZED', message: 'missing or invalid SDK key' });
      socket.disconnect(true);
    };
    const c = openWith(new SocketIoTransport({ baseUrl: url, sdkKey: 'bad' }));
    const error = await c.done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamHttpError);
    expect(error).toMatchObject({ status: 401, message: 'gateway answered 401: missing or invalid SDK key' });
  });

  it('resolves when the gateway closes the socket, and sends no revision when there is none', async () => {
    onConnection = (socket) => {
      setTimeout(() => socket.disconnect(true), 20);
    };
    const c = openWith(new SocketIoTransport({ baseUrl: url, sdkKey: 'k' }));
    await expect(c.done).resolves.toBeUndefined();
    expect(sockets[0].handshake.auth).toEqual({ key: 'k' });
  });

  it('rejects when the gateway cannot be reached, and when the connection drops', async () => {
    const unreachable = openWith(new SocketIoTransport({ baseUrl: 'http://127.0.0.1:1', sdkKey: 'k', connectTimeoutMs: 2000 }));
    await expect(unreachable.done).rejects.toThrow(/^socket\.io connection failed: /);

    onConnection = (socket) => socket.emit('snapshot', { v: 1, revision: 1 });
    const c = openWith(new SocketIoTransport({ baseUrl: url, sdkKey: 'k' }));
    await until(() => c.opened() === 1);
    // The server goes away without a socket.io goodbye: a failure the client will retry.
    io.disconnectSockets(false);
    for (const s of sockets) s.conn.close();
    await expect(c.done).rejects.toThrow('socket.io connection lost: transport close');
  });

  it('reports the stream open only on the first message, and gives up when none comes in time', async () => {
    onConnection = (socket) => {
      socket.emit('failure', { status: 403, code: 'FORBIDDEN', message: 'client keys cannot use this stream' });
      socket.disconnect(true);
    };
    const refused = openWith(new SocketIoTransport({ baseUrl: url, sdkKey: 'k' }));
    await expect(refused.done).rejects.toMatchObject({ status: 403 });
    expect(refused.opened()).toBe(0);

    onConnection = () => undefined;
    const silent = openWith(new SocketIoTransport({ baseUrl: url, sdkKey: 'k', connectTimeoutMs: 100 }));
    await expect(silent.done).rejects.toThrow('socket.io: no answer from the gateway within 100 ms');
    expect(silent.opened()).toBe(0);
    await until(() => sockets.every((s) => s.disconnected));
  });

  it('resolves at once when aborted before it connects', async () => {
    onConnection = () => undefined;
    const controller = new AbortController();
    controller.abort();
    const transport = new SocketIoTransport({ baseUrl: url, sdkKey: 'k' });
    await expect(transport.open({ signal: controller.signal, onOpen: () => undefined, onMessage: () => undefined })).resolves.toBeUndefined();
    const c = openWith(transport);
    c.controller.abort();
    await expect(c.done).resolves.toBeUndefined();
  });
});
