/**
 * Something ops must hear about (an automatic rollback, for one), as the webhook receives it:
 * this object is the JSON body of the delivery, byte for byte what the signature covers.
 */
export interface AlertEvent {
  /**
   * Unique per alert and stable across re-emits of the same alert: it is the BullMQ job id (so a
   * re-emit while the job is kept queues nothing) and the receiver's idempotency key (deliveries are
   * at least once). Letters, digits, `.`, `_` and `-` only (BullMQ refuses `:` and integer ids).
   */
  id: string;
  /** What happened, as `<subject>.<event>`: `release_plan.guardrail_breached`. */
  type: string;
  /** When it happened (ISO 8601), not when it is delivered: retries keep it. */
  occurredAt: string;
  /** Project key. */
  project: string;
  /** Environment key, or null for a project-wide alert. */
  environment: string | null;
  /** One human sentence, the line a chat or pager integration shows. */
  summary: string;
  /** Type-specific details (ids, metric values); never secrets. */
  data: Record<string, unknown>;
}

/** Letters, digits, `.`, `_`, `-`; BullMQ job ids must not contain `:` and must not be integers. */
export const ALERT_EVENT_ID = /^[A-Za-z0-9._-]{1,200}$/;
const ALERT_EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MAX_SUMMARY = 1000;

/**
 * What is wrong with an event, one message per field (empty when it can be emitted). Emitting a
 * malformed event is a bug in the emitter, so it fails at the emit call rather than at the receiver.
 */
export function alertEventProblems(event: AlertEvent): string[] {
  const problems: string[] = [];
  if (typeof event.id !== 'string' || !ALERT_EVENT_ID.test(event.id) || `${parseInt(event.id, 10)}` === event.id) {
    problems.push(`id: must be 1-200 letters, digits, ".", "_" or "-" and not an integer (got ${JSON.stringify(event.id)})`);
  }
  if (typeof event.type !== 'string' || !ALERT_EVENT_TYPE.test(event.type)) {
    problems.push(`type: must look like "subject.event" in lower snake case (got ${JSON.stringify(event.type)})`);
  }
  if (typeof event.occurredAt !== 'string' || !ISO_DATE_TIME.test(event.occurredAt) || Number.isNaN(Date.parse(event.occurredAt))) {
    problems.push(`occurredAt: must be an ISO 8601 date-time (got ${JSON.stringify(event.occurredAt)})`);
  }
  if (typeof event.project !== 'string' || !event.project) problems.push('project: must be a non-empty project key');
  if (event.environment !== null && (typeof event.environment !== 'string' || !event.environment)) {
    problems.push('environment: must be a non-empty environment key or null');
  }
  if (typeof event.summary !== 'string' || !event.summary.trim() || event.summary.length > MAX_SUMMARY) {
    problems.push(`summary: must be one non-empty sentence of at most ${MAX_SUMMARY} characters`);
  }
  if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) problems.push('data: must be an object');
  return problems;
}
