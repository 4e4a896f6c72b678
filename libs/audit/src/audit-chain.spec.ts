import { AuditChainVerifier, GENESIS_HASH, computeAuditHash, type AuditRecord, type ChainedAuditRecord } from './audit-chain';
import { canonicalize } from './canonical-json';
import { REDACTED, redactSensitive } from './redact';

const KEY = 'test-audit-key';

function chain(n: number): ChainedAuditRecord[] {
  const out: ChainedAuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const rec: AuditRecord = {
      seq,
      occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
      actor: { type: 'token', id: 't1', name: 'alice' },
      action: 'flag.updated',
      target: { type: 'flag', key: `f${seq}` },
      project: 'demo',
      environment: null,
      before: { on: false },
      after: { on: true, n: seq },
      requestId: `r${seq}`,
      reason: null,
      prevHash: prev,
    };
    const hash = computeAuditHash(KEY, rec);
    out.push({ ...rec, hash });
    prev = hash;
  }
  return out;
}

function verify(records: ChainedAuditRecord[], key = KEY) {
  const v = new AuditChainVerifier(key);
  for (const r of records) v.push(r);
  return v.verdict();
}

describe('audit hash chain', () => {
  it('hashes the canonical JSON with HMAC-SHA256 (a known vector)', () => {
    // Independent of key order: canonical JSON sorts keys.
    const rec = chain(1)[0];
    const { hash, ...unhashed } = rec;
    const reordered = Object.fromEntries(Object.entries(unhashed).reverse()) as unknown as AuditRecord;
    expect(computeAuditHash(KEY, reordered)).toBe(hash);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(computeAuditHash('other-key', unhashed)).not.toBe(hash);
  });

  it('accepts an intact chain and reports its head', () => {
    const records = chain(5);
    expect(verify(records)).toEqual({ ok: true, checked: 5, lastSeq: 5, lastHash: records[4].hash });
  });

  it('accepts the empty chain', () => {
    expect(verify([])).toEqual({ ok: true, checked: 0, lastSeq: 0, lastHash: GENESIS_HASH });
  });

  it('detects an edited record', () => {
    const records = chain(5);
    records[2] = { ...records[2], after: { on: false } };
    expect(verify(records)).toMatchObject({ ok: false, brokenAt: 3, checked: 2 });
  });

  it('detects a deleted record', () => {
    const records = chain(5);
    records.splice(1, 1);
    expect(verify(records)).toMatchObject({ ok: false, brokenAt: 2, problem: 'record 2 is missing (next present is 3)' });
  });

  it('detects two records swapped, even with their seq numbers swapped back', () => {
    const records = chain(5);
    const a = records[1];
    const b = records[2];
    records[1] = { ...b, seq: 2 };
    records[2] = { ...a, seq: 3 };
    expect(verify(records)).toMatchObject({ ok: false, brokenAt: 2 });
  });

  it('detects a chain verified with the wrong key', () => {
    expect(verify(chain(2), 'wrong')).toMatchObject({ ok: false, brokenAt: 1 });
  });
});

describe('canonical JSON (RFC 8785)', () => {
  it('sorts keys and normalises numbers', () => {
    expect(canonicalize({ b: 1, a: [1e21, 0.5, 'x'], c: { z: null, y: true } })).toBe(
      '{"a":[1e+21,0.5,"x"],"b":1,"c":{"y":true,"z":null}}',
    );
  });
});

describe('redactSensitive', () => {
  it('replaces tokens, keys and secrets at any depth and leaves the rest', () => {
    expect(
      redactSensitive({ name: 'ci', key: 'flag-key', token: 'fs_admin_x', nested: [{ apiKey: 'k', sdk_key: 's', value_plaintext: 'p', value: 1 }], at: new Date(0) }),
    ).toEqual({ name: 'ci', key: 'flag-key', token: REDACTED, nested: [{ apiKey: REDACTED, sdk_key: REDACTED, value_plaintext: REDACTED, value: 1 }], at: '1970-01-01T00:00:00.000Z' });
  });
});
