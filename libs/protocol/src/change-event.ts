import type { ConfigItemSnapshotV1 } from './config';
import type { FlagSnapshotV1, SegmentDefinitionV1 } from './flags';

/**
 * The change feed's wire format, version 1. One event per environment revision: the admin API
 * writes it to the outbox in the same transaction as the change, and the relay publishes it to
 * the environment's Redis stream with the stream entry id `<revision>-0`. See docs/protocol.md.
 */
export const CHANGE_EVENT_VERSION = 1 as const;

/** A segment as SDKs see it, with its version. */
export interface SegmentSnapshotV1 extends SegmentDefinitionV1 {
  version: number;
}

export type ChangeV1 =
  | { type: 'flag.upsert'; flag: FlagSnapshotV1 }
  | { type: 'flag.delete'; key: string }
  | { type: 'segment.upsert'; segment: SegmentSnapshotV1 }
  | { type: 'segment.delete'; key: string }
  | { type: 'config.upsert'; config: ConfigItemSnapshotV1 }
  | { type: 'config.delete'; key: string }
  /**
   * A secret the environment sees changed (a new version, a rollback, a delete, a restore, a
   * destroyed version): SDKs that read secrets fetch them again over HTTPS. Never a value; not
   * part of the state hash; sent in server streams only.
   */
  | { type: 'secret.changed'; path: string };

export interface ChangeEventV1 {
  v: typeof CHANGE_EVENT_VERSION;
  /** The environment's id (stable across key renames) and keys, for routing and logs. */
  environmentId: string;
  project: string;
  environment: string;
  /** Gap-free per environment: the previous event of this environment has `revision - 1`. */
  revision: number;
  occurredAt: string;
  /** The audit record of the write that produced this event. */
  auditSeq: number;
  changes: ChangeV1[];
}

/** Redis stream key of an environment's change feed. */
export function changeStreamKey(prefix: string, environmentId: string): string {
  return `${prefix}changes:${environmentId}`;
}

/** How long propagation receipts are kept in Redis. */
export const RECEIPT_TTL_SECONDS = 86_400;

/** Redis keys of one revision's propagation receipts (written by gateways, read by the admin API). */
export function receiptKeys(prefix: string, environmentId: string, revision: number): { counts: string; latencies: string } {
  const base = `${prefix}receipts:${environmentId}:${revision}`;
  return { counts: base, latencies: `${base}:ms` };
}
