import { COMMON_ENV, type EnvSpec } from '@flagstream/server';

export const GATEWAY_ENV = {
  ...COMMON_ENV,
  GATEWAY_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 4001, description: 'port of the gateway' },
  GATEWAY_HOST: { type: 'string', default: '0.0.0.0', description: 'interface the gateway listens on' },
} as const satisfies EnvSpec;
