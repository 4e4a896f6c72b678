import { DecryptionError, type EnvelopeCipher, type KekProvider } from '@flagstream/crypto';
import type { Store } from '@flagstream/persistence';
import type { ChangeWriter } from './change-writer';
import { SYSTEM, SCHEDULER, type WriteContext } from './write-context';

/** The keyring as the admin API shows it (no key material: versions and counts only). */
export interface KekStatus {
  provider: string;
  currentVersion: number;
  versions: number[];
  minDecryptVersion: number;
  /** Live ciphertexts per KEK version (secret versions and signing keys). */
  sealed: Array<{ kekVersion: number; count: number }>;
  /** Wraps counted per KEK version (the random-nonce budget of AES-GCM: 2^32 per key). */
  uses: Array<{ kekVersion: number; uses: number }>;
  /** Ciphertexts not yet under the current version (the rewrap pass moves them). */
  pendingRewrap: number;
}

/** Why the keyring cannot be used with this database: a start refusal, naming what to do. */
export class KeyringMismatchError extends Error {}

/** What one rewrap batch did. */
export interface RewrapReport {
  toVersion: number;
  rewrapped: number;
  /** Rows another pass or a destroy changed first (left as they are). */
  skipped: number;
  failed: Array<{ ref: string; reason: string }>;
}

/**
 * The key-encryption keyring's lifecycle over the stored ciphertexts (docs/secrets.md#kek-lifecycle):
 * `checkKeyring` at start (refuse a keyring that cannot open what is stored; audit a rotation or a
 * raised minimum once), `rewrapBatch` for the worker (data keys re-wrapped under the current version
 * a batch at a time, never exposing a plaintext: libs/crypto's rewrap), and `status`.
 */
export class KekMaintenance {
  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
    private readonly cipher: EnvelopeCipher,
    private readonly provider: KekProvider,
  ) {}

  async status(): Promise<KekStatus> {
    const r = this.store.read;
    const sealed = await r.keks.countByVersion();
    const current = this.provider.currentVersion();
    return {
      provider: this.provider.name,
      currentVersion: current,
      versions: [...this.provider.versions()],
      minDecryptVersion: this.cipher.minDecryptVersion,
      sealed,
      uses: await r.secrets.kekUsage(),
      pendingRewrap: sealed.filter((s) => s.kekVersion !== current).reduce((n, s) => n + s.count, 0),
    };
  }

  /**
   * At start: refuses a keyring that lacks a version something is still sealed under, or a
   * minimum that would strand stored ciphertexts; records the keyring and audits what changed
   * since the last start (`kek.rotated`, `kek.min_version_raised`, `kek.retired`).
   */
  async checkKeyring(): Promise<{ changes: string[] }> {
    const versions = [...this.provider.versions()];
    const current = this.provider.currentVersion();
    const min = this.cipher.minDecryptVersion;
    const sealed = await this.store.read.keks.countByVersion();
    const missing = sealed.filter((s) => !versions.includes(s.kekVersion));
    if (missing.length) {
      throw new KeyringMismatchError(
        `the keyring has no key version ${missing.map((m) => `${m.kekVersion} (${m.count} ciphertexts)`).join(', ')}: put those versions back until the worker's rewrap has moved them to version ${current}`,
      );
    }
    const stranded = sealed.filter((s) => s.kekVersion < min);
    if (stranded.length) {
      throw new KeyringMismatchError(
        `FLAGSTREAM_KEK_MIN_VERSION=${min} would refuse ${stranded.reduce((n, s) => n + s.count, 0)} stored ciphertexts still under version ${stranded.map((s) => s.kekVersion).join(', ')}: let the rewrap finish first`,
      );
    }
    if (min > current) throw new KeyringMismatchError(`FLAGSTREAM_KEK_MIN_VERSION=${min} is above the current key version ${current}`);
    const w: WriteContext = { principal: SYSTEM, requestId: null, reason: 'keyring at start' };
    return this.changes.write(w, async (tx) => {
      const before = await tx.keks.state();
      const now = { currentVersion: current, minVersion: min, versions };
      await tx.keks.saveState(now);
      const changes: string[] = [];
      if (!before) return { result: { changes }, audit: null };
      if (now.currentVersion !== before.currentVersion) changes.push('kek.rotated');
      if (now.minVersion !== before.minVersion) changes.push('kek.min_version_raised');
      if (before.versions.some((v) => !versions.includes(v))) changes.push('kek.retired');
      if (!changes.length) return { result: { changes }, audit: null };
      return {
        result: { changes },
        audit: { action: changes[0], target: { type: 'kek', key: this.provider.name }, project: null, before, after: { ...now, changes } },
      };
    });
  }

  /**
   * One batch of the rewrap: up to `limit` ciphertexts not under the current version get their
   * data key re-wrapped under it (the payload is authenticated first and stays byte for byte), each
   * row replaced only if unchanged since it was read. One audit record per batch that moved rows.
   */
  async rewrapBatch(limit = 200): Promise<RewrapReport> {
    const to = this.provider.currentVersion();
    const report: RewrapReport = { toVersion: to, rewrapped: 0, skipped: 0, failed: [] };
    const rows = await this.store.read.keks.sealedNotUnder(to, limit);
    const moved: Record<string, number> = {};
    for (const row of rows) {
      try {
        const out = await this.cipher.rewrap(row.ciphertext, { purpose: row.purpose, project: row.project, environment: row.environment, path: row.path, version: row.version }, { toVersion: to });
        if (!(await this.store.read.keks.replaceSealed(row, row.ciphertext, out.ciphertext, out.toVersion))) {
          report.skipped++;
          continue;
        }
        report.rewrapped++;
        moved[String(out.fromVersion)] = (moved[String(out.fromVersion)] ?? 0) + 1;
      } catch (e) {
        report.failed.push({ ref: `${row.kind}:${row.ref}`, reason: e instanceof DecryptionError ? e.reason : e instanceof Error ? e.message.slice(0, 200) : 'rewrap failed' });
      }
    }
    if (report.rewrapped) {
      const w: WriteContext = { principal: SCHEDULER, requestId: null, reason: 'rewrap to the current key version' };
      await this.changes.write(w, async () => ({ result: undefined, audit: { action: 'kek.rewrapped', target: { type: 'kek', key: this.provider.name }, project: null, after: { toVersion: to, from: moved, count: report.rewrapped } } }));
    }
    return report;
  }
}
