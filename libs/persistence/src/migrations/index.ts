import { InitialSchema1764140000000 } from './1764140000000-initial-schema';
import { ConfigItems1764200000000 } from './1764200000000-config-items';
import { SdkEvents1764300000000 } from './1764300000000-sdk-events';
import { ScheduledChanges1764400000000 } from './1764400000000-scheduled-changes';
import { ReleasePlans1764500000000 } from './1764500000000-release-plans';
import { Guardrails1764600000000 } from './1764600000000-guardrails';
import { Secrets1764700000000 } from './1764700000000-secrets';
import { SigningKeys1764800000000 } from './1764800000000-signing-keys';
import { SecretRotation1764900000000 } from './1764900000000-secret-rotation';
import { KekState1765100000000 } from './1765100000000-kek-state';
import { ExperimentEvents1765200000000 } from './1765200000000-ExperimentEvents';
import { Certificates1765000000000 } from './1765000000000-certificates';
import { Experiments1765300000000 } from './1765300000000-experiments';

/** Every migration, in order. Listed explicitly so bundled builds need no file globbing. */
export const MIGRATIONS = [InitialSchema1764140000000, ConfigItems1764200000000, SdkEvents1764300000000, ScheduledChanges1764400000000, ReleasePlans1764500000000, Guardrails1764600000000, Secrets1764700000000, SigningKeys1764800000000, SecretRotation1764900000000, Certificates1765000000000, KekState1765100000000, ExperimentEvents1765200000000, Experiments1765300000000];
