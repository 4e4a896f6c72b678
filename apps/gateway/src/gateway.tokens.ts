export const GATEWAY_RUNTIME = Symbol('GATEWAY_RUNTIME');
