import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { isPermanentWriteError, type NewSdkEvent, type Store } from '@flagstream/persistence';
import { EventQueue, type EventWriter, type OfferResult } from './event.queue';

export interface SdkEventIntakeConfig {
  /** Events held in memory at most (queued and being written); beyond it requests get 429. */
  queueSize: number;
  /** Events per INSERT. */
  batchSize: number;
  /** Queued events are written at least this often. */
  flushMs: number;
  /** How long `stop()` keeps trying to write what is queued. */
  stopTimeoutMs: number;
}

/** Why a batch was refused, as counted by `flagstream_gateway_events_rejected_total`. */
export type EventRejection = 'invalid' | 'rate_limited' | 'overloaded';

const DAY_MS = 86_400_000;

/**
 * Writes batches to `sdk_events`, first making sure today's and tomorrow's partitions exist (once
 * per UTC day per process; the database function is idempotent).
 */
export class PostgresEventWriter implements EventWriter<NewSdkEvent> {
  private preparedDay = -1;

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async write(batch: readonly NewSdkEvent[]): Promise<void> {
    const day = Math.floor(this.now() / DAY_MS);
    if (day !== this.preparedDay) {
      await this.store.read.sdkEvents.ensurePartitions(new Date(day * DAY_MS), 2);
      this.preparedDay = day;
    }
    // Stamped with the write time, not the request's: a batch that waited in the queue must not
    // land behind an experiment aggregation's watermark (SdkEventRepository.insertBatch).
    await this.store.read.sdkEvents.insertBatch(batch, { stampedAt: new Date(this.now()) });
  }
}


/**
 * The gateway's intake of SDK events: the bounded queue in front of Postgres and its metrics.
 * The controller validates and offers whole batches; the queue writes them in few INSERTs.
 */
export class SdkEventIntake {
  private readonly queue: EventQueue<NewSdkEvent>;
  private readonly accepted: Counter<'kind'>;
  private readonly rejected: Counter<'reason'>;

  constructor(
    writer: EventWriter<NewSdkEvent>,
    registry: Registry,
    private readonly logger: Logger,
    private readonly config: SdkEventIntakeConfig,
  ) {
    this.accepted = new Counter({ name: 'flagstream_gateway_events_accepted_total', help: 'SDK events accepted (queued for storage)', labelNames: ['kind'], registers: [registry] });
    this.rejected = new Counter({ name: 'flagstream_gateway_events_rejected_total', help: 'SDK events in refused requests', labelNames: ['reason'], registers: [registry] });
    const dropped = new Counter({ name: 'flagstream_gateway_events_dropped_total', help: 'Accepted SDK events that were never stored', registers: [registry] });
    const flushes = new Histogram({
      name: 'flagstream_gateway_events_flush_duration_seconds',
      help: 'Duration of SDK event INSERTs, by outcome',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    });
    const depth: Gauge = new Gauge({
      name: 'flagstream_gateway_events_queue_depth',
      help: 'SDK events held in memory (queued or being written)',
      registers: [registry],
      collect: () => depth.set(this.queue.depth),
    });
    this.queue = new EventQueue(writer, {
      capacity: config.queueSize,
      batchSize: config.batchSize,
      flushIntervalMs: config.flushMs,
      initialRetryMs: 200,
      maxRetryMs: 10_000,
      isPermanent: isPermanentWriteError,
      onFlush: (outcome, events, seconds, error) => {
        flushes.observe({ outcome }, seconds);
        if (outcome === 'retry') this.logger.warn({ err: error, events }, 'storing SDK events failed; keeping them queued and retrying');
        if (outcome === 'dropped') {
          dropped.inc(events);
          this.logger.error({ err: error, events }, 'Postgres refused SDK events; dropped them');
        }
      },
      onGiveUp: (events) => {
        dropped.inc(events);
        this.logger.error({ events }, 'SDK events still queued at shutdown could not be stored; dropped them');
      },
    });
  }

  /** Events held in memory at most. */
  get capacity(): number {
    return this.config.queueSize;
  }

  start(): void {
    this.queue.start();
  }

  /** Queues a validated batch whole, or refuses it whole. */
  offer(events: readonly NewSdkEvent[]): OfferResult {
    const result = this.queue.offer(events);
    if (result.queued) {
      let exposures = 0;
      for (const e of events) if (e.kind === 'exposure') exposures++;
      if (exposures) this.accepted.inc({ kind: 'exposure' }, exposures);
      if (events.length > exposures) this.accepted.inc({ kind: 'metric' }, events.length - exposures);
    } else {
      this.reject('overloaded', events.length);
    }
    return result;
  }

  /** Counts the events of a refused request. */
  reject(reason: EventRejection, events: number): void {
    this.rejected.inc({ reason }, events);
  }

  /** Refuses new batches and writes what is queued (within the configured time). */
  stop(): Promise<void> {
    return this.queue.stop(this.config.stopTimeoutMs);
  }
}
