import { SDK_STREAM_VERSION, type EvaluatedFlagV1, type EvaluationResultV1 } from '@flagstream/protocol';
import type { EnvironmentHub, HubSubscriber, PublishedPatch } from '../stream/environment-hub';

/** Where evaluated messages go: an SSE response or a socket. */
export interface MessageSink {
  readonly keyId: string;
  send(event: 'snapshot' | 'patch', revision: number, payload: unknown): void;
  close(reason: string): void;
}

/** What a client key may see of a result: no rule ids or messages, but the experiment marker (its SDK reports exposures). */
export function evaluated(r: EvaluationResultV1): EvaluatedFlagV1 {
  const out: EvaluatedFlagV1 = { value: r.value, reason: r.reason };
  if (r.variation !== undefined) out.variant = r.variation;
  if (r.errorCode !== undefined) out.errorCode = r.errorCode;
  if (r.experiment !== undefined) out.experiment = r.experiment;
  if (r.experimentUnit !== undefined) out.experimentUnit = r.experimentUnit;
  return out;
}

/** Same for the client: a context moved into or out of an experiment (same value) is news too. */
export function sameEvaluated(a: EvaluatedFlagV1 | undefined, b: EvaluatedFlagV1): boolean {
  return (
    !!a &&
    a.variant === b.variant &&
    a.reason === b.reason &&
    a.errorCode === b.errorCode &&
    a.experiment === b.experiment &&
    a.experimentUnit === b.experimentUnit &&
    JSON.stringify(a.value) === JSON.stringify(b.value)
  );
}

/**
 * A client key's (browser) stream: values of client-visible flags for one context, evaluated
 * here, never rules. After a change, only the flags whose value changed for this context.
 */
export class EvaluatedStreamSubscriber implements HubSubscriber {
  private sent = new Map<string, EvaluatedFlagV1>();

  constructor(
    private readonly hub: EnvironmentHub,
    private readonly conn: MessageSink,
    private readonly context: Record<string, unknown>,
    private readonly clientVisibleOnly: boolean,
  ) {}

  get keyId(): string {
    return this.conn.keyId;
  }

  start(): void {
    this.sendSnapshot();
  }

  onPatch(patch: PublishedPatch): void {
    const evaluator = this.hub.evaluator();
    const changed: Record<string, EvaluatedFlagV1> = {};
    const removed: string[] = [];
    // A segment change can move any flag; otherwise only the changed flags can.
    const candidates = patch.segmentsChanged ? evaluator.flagKeys() : [...patch.changedFlags];
    for (const key of candidates) {
      const source = this.hub.flag(key);
      if (!source || (this.clientVisibleOnly && !source.clientVisible)) {
        if (this.sent.delete(key)) removed.push(key);
        continue;
      }
      const now = evaluated(evaluator.evaluate(key, this.context));
      if (!sameEvaluated(this.sent.get(key), now)) {
        changed[key] = now;
        this.sent.set(key, now);
      }
    }
    if (!removed.length && !Object.keys(changed).length) return;
    this.conn.send('patch', patch.revision, { v: SDK_STREAM_VERSION, revision: patch.revision, flags: changed, removed });
  }

  onReset(): void {
    this.sendSnapshot();
  }

  close(reason: string): void {
    this.conn.close(reason);
  }

  private sendSnapshot(): void {
    const flags: Record<string, EvaluatedFlagV1> = {};
    this.sent = new Map();
    for (const r of this.hub.evaluator().evaluateAll(this.context, { clientVisibleOnly: this.clientVisibleOnly })) {
      const e = evaluated(r);
      flags[r.key] = e;
      this.sent.set(r.key, e);
    }
    this.conn.send('snapshot', this.hub.revision, { v: SDK_STREAM_VERSION, revision: this.hub.revision, flags });
  }
}
