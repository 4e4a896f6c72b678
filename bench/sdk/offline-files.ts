/*
 * The offline-start files of each SDK, holding the same 1,000 bench flags (bench/evaluation's W4
 * set: static, 50% rollout and 3-rule flags in turn), in each SDK's own documented format. The
 * peers' translations are bench/evaluation's (same semantics in both benchmarks).
 *
 * Flagstream's file is what `FileSnapshotCache` writes: the gateway's snapshot message as
 * canonical JSON (RFC 8785), byte for byte the frame the gateway streams.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, stateHash, type SnapshotMessageV1 } from '@flagstream/protocol';
import { flagdFlag } from '../evaluation/engines/flagd.engine';
import { flagstreamSnapshot } from '../evaluation/engines/flagstream.engine';
import { growthbookFeature } from '../evaluation/engines/growthbook.engine';
import { launchDarklyFlag } from '../evaluation/engines/launchdarkly.engine';
import { unleashFeature } from '../evaluation/engines/unleash.engine';
import type { BenchFlag } from '../evaluation/workload.model';
import { UNLEASH_APP, type OfflineFiles } from './first-evaluation.model';

/** The Flagstream snapshot message of the bench flags, as the gateway streams it and the cache stores it. */
export function flagstreamSnapshotMessage(flags: BenchFlag[]): SnapshotMessageV1 {
  const s = flagstreamSnapshot(flags);
  return { v: 1, environment: s.environment, revision: s.revision, stateHash: stateHash(s.flags, []), flags: s.flags, segments: [] };
}

/**
 * Writes every engine's offline file for `flags` into `dir`. Flagstream gets two: the canonical
 * JSON the cache writes, and plain `JSON.stringify` output (keys in the order the bench builds
 * them), to measure a snapshot that was not written by the gateway or the SDK.
 */
export function writeOfflineFiles(dir: string, flags: BenchFlag[]): OfflineFiles {
  const files: OfflineFiles = {
    flagstream: join(dir, 'flagstream-snapshot.json'),
    flagstreamUnordered: join(dir, 'flagstream-snapshot-unordered.json'),
    unleashDir: dir,
    launchdarkly: join(dir, 'launchdarkly-flags.json'),
    growthbook: join(dir, 'growthbook-payload.json'),
    flagd: join(dir, 'flagd-flags.json'),
  };
  const message = flagstreamSnapshotMessage(flags);
  writeFileSync(files.flagstream, canonicalJson(message)!);
  writeFileSync(files.flagstreamUnordered, JSON.stringify(message));
  writeFileSync(join(dir, `unleash-backup-${UNLEASH_APP}.json`), JSON.stringify({ version: 2, features: flags.map(unleashFeature), segments: [] }));
  writeFileSync(files.launchdarkly, JSON.stringify({ flags: Object.fromEntries(flags.map((f) => [f.key, launchDarklyFlag(f)])), segments: {} }));
  writeFileSync(files.growthbook, JSON.stringify({ features: Object.fromEntries(flags.map((f) => [f.key, growthbookFeature(f)])) }));
  writeFileSync(files.flagd, JSON.stringify({ flags: Object.fromEntries(flags.map((f) => [f.key, flagdFlag(f)])) }));
  return files;
}
