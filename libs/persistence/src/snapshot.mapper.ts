import type { FlagEnvironmentSettingsV1, FlagSnapshotV1, SegmentSnapshotV1 } from '@flagstream/protocol';
import type { FlagEntity, FlagEnvironmentEntity, SegmentEntity } from './entities';

export function settingsOf(s: FlagEnvironmentEntity): FlagEnvironmentSettingsV1 {
  return { on: s.on, offVariation: s.offVariation, prerequisites: s.prerequisites, rules: s.rules, defaultServe: s.defaultServe, salt: s.salt };
}

/** The flag as SDKs of one environment see it (the change feed's `flag.upsert`, the snapshot's flags). */
export function flagSnapshot(f: FlagEntity, s: FlagEnvironmentEntity): FlagSnapshotV1 {
  return {
    key: f.key,
    kind: f.kind,
    variations: f.variations,
    clientVisible: f.clientVisible,
    settings: settingsOf(s),
    // Both parts only ever increase, so their sum does too.
    version: f.version + s.version,
  };
}

export function segmentSnapshot(s: SegmentEntity): SegmentSnapshotV1 {
  return { key: s.key, included: s.included, excluded: s.excluded, rules: s.rules, version: s.version };
}
