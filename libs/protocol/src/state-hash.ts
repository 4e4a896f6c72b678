import canonicalize from 'canonicalize';
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import type { SegmentSnapshotV1 } from './change-event';
import type { ConfigItemSnapshotV1 } from './config';
import type { FlagSnapshotV1 } from './flags';

/**
 * The state hash of an environment (docs/protocol.md#state-hash), pure JavaScript so SDKs in
 * browsers compute it identically:
 *
 *   itemHash(x)  = hex(SHA-256(UTF-8(RFC 8785 canonical JSON of x)))
 *   stateHash    = hex(SHA-256(UTF-8(lines)))   where lines is, in key order,
 *                  "f " + flag.key + " " + itemHash(flag) + "\n" for every flag, then
 *                  "s " + segment.key + " " + itemHash(segment) + "\n" for every segment, then
 *                  "c " + config.key + " " + itemHash(config) + "\n" for every config item.
 *
 * Item hashes are kept per item, so a patch re-hashes only what it changed.
 */
export function itemHash(item: FlagSnapshotV1 | SegmentSnapshotV1 | ConfigItemSnapshotV1): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalize(item) ?? 'null')));
}

export function combineStateHash(
  flagHashes: ReadonlyMap<string, string>,
  segmentHashes: ReadonlyMap<string, string>,
  configHashes: ReadonlyMap<string, string> = new Map(),
): string {
  let lines = '';
  for (const key of [...flagHashes.keys()].sort()) lines += `f ${key} ${flagHashes.get(key)}\n`;
  for (const key of [...segmentHashes.keys()].sort()) lines += `s ${key} ${segmentHashes.get(key)}\n`;
  for (const key of [...configHashes.keys()].sort()) lines += `c ${key} ${configHashes.get(key)}\n`;
  return bytesToHex(sha256(utf8ToBytes(lines)));
}

/** The state hash of a whole state (what a snapshot carries). */
export function stateHash(flags: readonly FlagSnapshotV1[], segments: readonly SegmentSnapshotV1[], configs: readonly ConfigItemSnapshotV1[] = []): string {
  return combineStateHash(
    new Map(flags.map((f) => [f.key, itemHash(f)])),
    new Map(segments.map((s) => [s.key, itemHash(s)])),
    new Map(configs.map((c) => [c.key, itemHash(c)])),
  );
}
