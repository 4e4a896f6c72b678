export { SocketIoTransport } from './socket-io.transport';
export type { SocketIoTransportOptions } from './socket-io.transport';
