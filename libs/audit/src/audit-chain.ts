import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalize } from './canonical-json';

/** Who did something: a person's admin token, an automation token, the system itself. */
export interface AuditActor {
  type: 'token' | 'system' | 'scheduler' | 'sdk-key';
  id: string;
  name: string;
}

/** An audit record as it is hashed: everything but the hash itself. */
export interface AuditRecord {
  seq: number;
  occurredAt: string;
  actor: AuditActor;
  action: string;
  target: { type: string; key: string };
  project: string | null;
  environment: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
  reason: string | null;
  prevHash: string;
}

export interface ChainedAuditRecord extends AuditRecord {
  hash: string;
}

/** The `prevHash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * HMAC-SHA256, keyed with the audit key, over the RFC 8785 canonical JSON of the record
 * (which includes `seq` and `prevHash`, so an edit, a deletion or a swap breaks the chain).
 */
export function computeAuditHash(key: string, record: AuditRecord): string {
  return createHmac('sha256', key).update(canonicalize(record)).digest('hex');
}

export type ChainVerdict =
  | { ok: true; checked: number; lastSeq: number; lastHash: string }
  | { ok: false; checked: number; brokenAt: number; problem: string };

/**
 * Walks a chain page by page: feed records in ascending `seq` order, then read `verdict()`.
 * Keeps only the previous link in memory, so a table of any size verifies in constant space.
 */
export class AuditChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private checked = 0;
  private failure: { brokenAt: number; problem: string } | null = null;

  constructor(private readonly key: string) {}

  /** Returns false once the chain is broken; further records are ignored. */
  push(record: ChainedAuditRecord): boolean {
    if (this.failure) return false;
    const fail = (problem: string): boolean => {
      this.failure = { brokenAt: this.expectedSeq, problem };
      return false;
    };
    if (record.seq !== this.expectedSeq) {
      return fail(
        record.seq > this.expectedSeq
          ? `record ${this.expectedSeq} is missing (next present is ${record.seq})`
          : `record ${record.seq} appears out of order`,
      );
    }
    if (record.prevHash !== this.prevHash) return fail(`record ${record.seq} does not link to record ${record.seq - 1}`);
    const { hash, ...unhashed } = record;
    if (!sameHex(computeAuditHash(this.key, unhashed), hash)) {
      return fail(`record ${record.seq} was altered: its hash does not match its content`);
    }
    this.prevHash = hash;
    this.expectedSeq += 1;
    this.checked += 1;
    return true;
  }

  verdict(): ChainVerdict {
    if (this.failure) return { ok: false, checked: this.checked, ...this.failure };
    return { ok: true, checked: this.checked, lastSeq: this.expectedSeq - 1, lastHash: this.prevHash };
  }
}

function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
