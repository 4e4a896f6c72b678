import type { ChangeRelay } from '@flagstream/change-feed';
import { CHANGE_EVENT_VERSION, type ChangeV1 } from '@flagstream/protocol';
import type { AuditAppend, EnvironmentEntity, Repositories, Store } from '@flagstream/persistence';
import { actorOf, type WriteContext } from './write-context';

export interface EnvironmentChanges {
  environment: EnvironmentEntity;
  changes: ChangeV1[];
}

export interface ChangeOutcome<T> {
  result: T;
  /** null: nothing changed (an idempotent repeat), so nothing is audited or streamed. */
  audit: Omit<AuditAppend, 'actor' | 'requestId' | 'reason'> | null;
  /** What SDKs must hear about, per environment; each gets one new revision. */
  project?: string;
  environments?: EnvironmentChanges[];
  /** Turns the result into the final one once the new revision of each environment (by id) is known. */
  withRevisions?: (revisions: ReadonlyMap<string, number>) => T;
  /**
   * Runs inside the transaction once the new revisions are known (after the audit record and the
   * outbox rows), for writes that must record the revision they got (a scheduled change).
   */
  afterRevisions?: (tx: Repositories, revisions: ReadonlyMap<string, number>) => Promise<void>;
}

/**
 * The write path of the change pipeline. In one transaction: the change itself, one audit link,
 * and for each affected environment a new revision and an outbox row. After commit the relay is
 * kicked to publish; if this process dies first, the relay publishes at next start.
 */
export class ChangeWriter {
  constructor(
    private readonly store: Store,
    private readonly relay: Pick<ChangeRelay, 'kick'>,
  ) {}

  /**
   * Runs `work` and everything the change pipeline needs in one transaction (see the class), then
   * kicks the relay. The write functions of `FlagWrites` and `ConfigWrites` that end in `In` build
   * their outcome inside a caller's transaction, so several can share one.
   */
  async write<T>(ctx: WriteContext, work: (tx: Repositories) => Promise<ChangeOutcome<T>>): Promise<T> {
    let published = false;
    const result = await this.store.transaction(async (tx) => {
      // Serialise admin writes first, before any row lock, so lock order is the same for all.
      await tx.audit.lock();
      const outcome = await work(tx);
      if (!outcome.audit) return outcome.result;
      const record = await tx.audit.append({
        ...outcome.audit,
        actor: ctx.actor ?? actorOf(ctx.principal),
        requestId: ctx.requestId,
        reason: ctx.reason,
      });
      const envs = (outcome.environments ?? []).filter((e) => e.changes.length);
      const locked = await tx.environments.lockForChange(envs.map((e) => e.environment.id));
      const revisions = new Map<string, number>();
      for (const env of locked) {
        const changes = envs.filter((e) => e.environment.id === env.id).flatMap((e) => e.changes);
        const revision = await tx.environments.bumpRevision(env.id);
        revisions.set(env.id, revision);
        await tx.outbox.insert({
          v: CHANGE_EVENT_VERSION,
          environmentId: env.id,
          project: outcome.project ?? outcome.audit?.project ?? '',
          environment: env.key,
          revision,
          occurredAt: record.occurredAt,
          auditSeq: record.seq,
          changes,
        });
        published = true;
      }
      await outcome.afterRevisions?.(tx, revisions);
      return outcome.withRevisions ? outcome.withRevisions(revisions) : outcome.result;
    });
    if (published) this.relay.kick();
    return result;
  }
}
