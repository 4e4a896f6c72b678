import { AUDIT_ENV, COMMON_ENV, KEK_ENV, type EnvSpec } from '@flagstream/server';

export const GATEWAY_ENV = {
  ...COMMON_ENV,
  // Optional: with both, the gateway serves GET /sdk/v1/secrets (decrypting, and auditing each read).
  ...AUDIT_ENV,
  ...KEK_ENV,
  GATEWAY_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 4001, description: 'port of the gateway' },
  GATEWAY_HOST: { type: 'string', default: '0.0.0.0', description: 'interface the gateway listens on' },
  GATEWAY_PUBLIC_URL: { type: 'string', format: 'uri', description: 'URL SDKs reach the gateway at (default http://localhost:GATEWAY_PORT)' },
  GATEWAY_HEARTBEAT_MS: { type: 'integer', minimum: 1000, maximum: 300000, default: 15000, description: 'interval of SSE heartbeat comments' },
  GATEWAY_RETRY_MS: { type: 'integer', minimum: 100, maximum: 60000, default: 2000, description: 'the retry: hint sent to SSE clients' },
  GATEWAY_BACKLOG: { type: 'integer', minimum: 1, maximum: 100000, default: 1000, description: 'revisions kept per environment for resuming clients' },
  GATEWAY_MAX_BUFFER_BYTES: { type: 'integer', minimum: 16384, maximum: 67108864, default: 1048576, description: 'bytes queued for one client before it is dropped' },
  GATEWAY_MAX_CONNECTIONS_PER_KEY: { type: 'integer', minimum: 1, maximum: 1000000, default: 10000, description: 'open streams allowed per SDK key' },
  GATEWAY_RATE_PER_KEY: { type: 'integer', minimum: 1, maximum: 1000000, default: 1000, description: 'OFREP evaluations per second per SDK key' },
  GATEWAY_EVENTS_QUEUE: { type: 'integer', minimum: 1, maximum: 10000000, default: 50000, description: 'SDK events held in memory before POST /sdk/v1/events answers 429' },
  GATEWAY_EVENTS_BATCH: { type: 'integer', minimum: 1, maximum: 10000, default: 1000, description: 'SDK events per INSERT' },
  GATEWAY_EVENTS_FLUSH_MS: { type: 'integer', minimum: 10, maximum: 60000, default: 100, description: 'interval of writing queued SDK events' },
  GATEWAY_RESYNC_MS: { type: 'integer', minimum: 200, maximum: 600000, default: 5000, description: 'interval of the revision check against Postgres' },
} as const satisfies EnvSpec;
