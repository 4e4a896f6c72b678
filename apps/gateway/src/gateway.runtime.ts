import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Secrets } from '@flagstream/changes';
import type { Store } from '@flagstream/persistence';
import { ConnectionRegistry } from './auth/connection.registry';
import { PostgresEventWriter, SdkEventIntake } from './events/sdk-event.intake';
import { SdkKeyAuth } from './auth/sdk-key.auth';
import { ReceiptRecorder } from './receipts/receipt.recorder';
import { ChangeStreamReader } from './stream/change-stream.reader';
import { HubRegistry } from './stream/hub.registry';
import type { SseConnection } from './sse/sse-connection';

export interface GatewayConfig {
  keyPrefix: string;
  heartbeatMs: number;
  retryMs: number;
  backlogSize: number;
  maxBufferedBytes: number;
  maxConnectionsPerKey: number;
  /** How often open streams' keys are checked for revocation. */
  revocationCheckMs: number;
  /** How often served environments are compared with Postgres (a safety net for lost events). */
  resyncMs: number;
  /** Base URL SDKs reach this gateway at (OFREP advertises its event stream under it). */
  publicUrl: string;
  /** OFREP evaluation requests allowed per second per SDK key (then 429 with Retry-After); event batches have a budget of their own. */
  requestsPerSecondPerKey: number;
  /** SDK events held in memory at most before `POST /sdk/v1/events` answers 429. Default 50,000. */
  eventsQueueSize?: number;
  /** SDK events per INSERT. Default 1,000. */
  eventsBatchSize?: number;
  /** How often queued SDK events are written, in ms. Default 100. */
  eventsFlushMs?: number;
}

export interface GatewayDeps {
  store: Store;
  /** Commands and the control connection. */
  redis: Redis;
  /** A connection of its own for the blocking XREAD loop. */
  blockingRedis: Redis;
  logger: Logger;
  registry: Registry;
  config: GatewayConfig;
  /** Serves `GET /sdk/v1/secrets` (needs the audit key and the KEK); absent: that route answers 503. */
  secrets?: Pick<Secrets, 'readForSdkKey'>;
}

/**
 * Everything the gateway runs besides HTTP: the stream reader, the environment hubs, key
 * checks, open connections, heartbeats, revocation and resync timers, receipts and metrics.
 */
export class GatewayRuntime {
  readonly auth: SdkKeyAuth;
  readonly connections: ConnectionRegistry;
  readonly hubs: HubRegistry;
  readonly reader: ChangeStreamReader;
  readonly receipts: ReceiptRecorder;
  readonly sse = new Set<SseConnection>();
  /** `POST /sdk/v1/events`: the queue in front of the `sdk_events` table. */
  readonly events: SdkEventIntake;
  readonly metrics: {
    connections: Gauge<'transport'>;
    messages: Counter<'transport' | 'kind'>;
    applyLag: Histogram;
    propagation: Histogram;
    dropped: Counter<'reason'>;
  };
  private timers: NodeJS.Timeout[] = [];
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly deps: GatewayDeps) {
    const { store, redis, blockingRedis, logger, registry, config } = deps;
    this.auth = new SdkKeyAuth(store);
    this.connections = new ConnectionRegistry(config.maxConnectionsPerKey);
    this.metrics = {
      connections: new Gauge({ name: 'flagstream_gateway_connections', help: 'Open SDK streams', labelNames: ['transport'], registers: [registry], collect: () => this.collectConnections() }),
      messages: new Counter({ name: 'flagstream_gateway_messages_total', help: 'Messages written to SDK streams', labelNames: ['transport', 'kind'], registers: [registry] }),
      applyLag: new Histogram({
        name: 'flagstream_gateway_apply_lag_seconds',
        help: 'Time from commit to this gateway applying the change',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
        registers: [registry],
      }),
      propagation: new Histogram({
        name: 'flagstream_gateway_propagation_seconds',
        help: 'Time from commit to an SDK acknowledging the revision',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
        registers: [registry],
      }),
      dropped: new Counter({ name: 'flagstream_gateway_dropped_total', help: 'Streams closed by the gateway', labelNames: ['reason'], registers: [registry] }),
    };
    this.events = new SdkEventIntake(new PostgresEventWriter(store), registry, logger, {
      queueSize: config.eventsQueueSize ?? 50_000,
      batchSize: config.eventsBatchSize ?? 1_000,
      flushMs: config.eventsFlushMs ?? 100,
      stopTimeoutMs: 5_000,
    });
    this.receipts = new ReceiptRecorder(redis, config.keyPrefix, (err) => logger.warn({ err }, 'receipt flush failed'));
    this.reader = new ChangeStreamReader(blockingRedis, redis, {
      keyPrefix: config.keyPrefix,
      blockMs: 2000,
      batchSize: 500,
      onEvents: (environmentId, events) => this.hubs.deliver(environmentId, events),
      onError: (err) => logger.warn({ err }, 'change stream read failed; retrying'),
    });
    this.hubs = new HubRegistry(store, this.reader, {
      backlogSize: config.backlogSize,
      onApplied: (hub, event) => {
        this.metrics.applyLag.observe(Math.max(0, Date.now() - Date.parse(event.occurredAt)) / 1000);
        this.receipts.published(hub.environmentId, event.revision, hub.reach());
      },
      onError: (err, environmentId) => logger.error({ err, environmentId }, 'applying changes failed'),
    });
    // After Redis comes back, events published while it was away may be lost with it.
    redis.on('ready', () => void this.hubs.resync().catch((err: unknown) => logger.warn({ err }, 'resync failed')));
  }

  /** An SDK applied `revision`: count it, with its latency from commit when the hub still knows it. */
  acknowledge(environmentId: string, revision: number): void {
    const committedAt = this.hubs.get(environmentId)?.committedAt(revision);
    if (committedAt === undefined) return;
    const ms = Math.max(0, Date.now() - committedAt);
    this.metrics.propagation.observe(ms / 1000);
    this.receipts.acknowledged(environmentId, revision, ms);
  }

  /** A token bucket per key and use (OFREP requests, event batches); returns seconds to wait, or null to go ahead. */
  rateLimit(keyId: string, use: 'ofrep' | 'events' | 'secrets' = 'ofrep'): number | null {
    const now = Date.now();
    const rate = this.deps.config.requestsPerSecondPerKey;
    const id = use === 'ofrep' ? keyId : `${use}:${keyId}`;
    const bucket = this.buckets.get(id) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    this.buckets.set(id, bucket);
    if (bucket.tokens < 1) return Math.max(1, Math.ceil((1 - bucket.tokens) / rate));
    bucket.tokens -= 1;
    return null;
  }

  start(): void {
    const { config, store, logger } = this.deps;
    this.reader.start();
    this.receipts.start();
    this.events.start();
    this.timers.push(
      setInterval(() => {
        for (const c of this.sse) c.heartbeat();
      }, config.heartbeatMs),
      setInterval(() => {
        const ids = this.connections.keyIds();
        if (!ids.length) return;
        store.read.snapshots
          .revokedSdkKeys(ids)
          .then((revoked) => {
            if (!revoked.length) return;
            this.auth.forget(revoked);
            const n = this.connections.closeKeys(revoked, 'SDK key revoked');
            this.metrics.dropped.inc({ reason: 'revoked' }, n);
          })
          .catch((err: unknown) => logger.warn({ err }, 'revocation check failed'));
      }, config.revocationCheckMs),
      setInterval(() => void this.hubs.resync().catch((err: unknown) => logger.warn({ err }, 'resync failed')), config.resyncMs),
    );
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const c of [...this.sse]) c.close('gateway shutting down');
    await this.events.stop();
    await this.reader.stop();
    await this.receipts.stop();
  }

  private collectConnections(): void {
    this.metrics.connections.set({ transport: 'sse' }, this.connections.count('sse'));
    this.metrics.connections.set({ transport: 'socket.io' }, this.connections.count('socket.io'));
  }
}
