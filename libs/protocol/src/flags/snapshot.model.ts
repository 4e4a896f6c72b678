import type { FlagDefinitionV1, FlagEnvironmentSettingsV1 } from './flag.model';
import type { SegmentDefinitionV1 } from './segment.model';

/** A flag as one environment sees it: its definition plus that environment's settings. */
export interface FlagSnapshotV1 extends FlagDefinitionV1 {
  clientVisible: boolean;
  /** Archived flags are kept in snapshots for auditing but never evaluated (FLAG_NOT_FOUND). */
  archived?: boolean;
  settings: FlagEnvironmentSettingsV1;
  /** The flag's own version, increasing with every change to it. */
  version: number;
}

/** Everything an evaluator needs for one environment at one revision. */
export interface EnvironmentSnapshotV1 {
  environment: string;
  revision: number;
  flags: FlagSnapshotV1[];
  segments: SegmentDefinitionV1[];
}
