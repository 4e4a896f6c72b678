import type { ChangeV1, SegmentSnapshotV1 } from './change-event';
import type { ConfigItemSnapshotV1 } from './config';
import type { EvaluationErrorCode, EvaluationReason, FlagSnapshotV1 } from './flags';

/**
 * What the gateway sends to SDKs, version 1 (docs/protocol.md). Over SSE each message is one event
 * whose `id` is its revision and whose name is the message kind; over socket.io it is emitted as
 * an event of the same name.
 */
export const SDK_STREAM_VERSION = 1 as const;

/** Server keys: the environment's whole state at a revision. */
export interface SnapshotMessageV1 {
  v: typeof SDK_STREAM_VERSION;
  environment: string;
  revision: number;
  /** See `stateHash`: lets the SDK prove it holds exactly this state. */
  stateHash: string;
  flags: FlagSnapshotV1[];
  segments: SegmentSnapshotV1[];
  /** Config items with the layers of this environment's chain; absent from gateways before configuration existed. */
  configs?: ConfigItemSnapshotV1[];
}

/** Server keys: one revision's changes; apply only when `revision` is the next one you expect. */
export interface PatchMessageV1 {
  v: typeof SDK_STREAM_VERSION;
  revision: number;
  /** The state hash after applying this patch. */
  stateHash: string;
  occurredAt: string;
  changes: ChangeV1[];
}

/** One flag's value for one context (client keys never see rules). */
export interface EvaluatedFlagV1 {
  value: unknown;
  variant?: string;
  reason: EvaluationReason;
  errorCode?: EvaluationErrorCode;
  /** The result's `experiment`: this context is in that experiment (a tracked slice of its rollout). */
  experiment?: string;
  /** The result's `experimentUnit`: the attribute path whose value is the experiment's unit. */
  experimentUnit?: string;
}

/** Client keys: every client-visible flag's value for the connection's context. */
export interface EvaluatedSnapshotMessageV1 {
  v: typeof SDK_STREAM_VERSION;
  revision: number;
  flags: Record<string, EvaluatedFlagV1>;
}

/** Client keys: only the flags whose value changed for this context, and flags that are gone. */
export interface EvaluatedPatchMessageV1 {
  v: typeof SDK_STREAM_VERSION;
  revision: number;
  flags: Record<string, EvaluatedFlagV1>;
  removed: string[];
}

/** Body of `POST /sdk/v1/ack` (SSE clients) and the socket.io `ack` payload. */
export interface AckMessageV1 {
  revision: number;
}
