import type {
  ApiTokenEntity,
  EnvironmentEntity,
  FlagEntity,
  FlagEnvironmentEntity,
  ProjectEntity,
  SdkKeyEntity,
  SegmentEntity,
} from '@flagstream/persistence';
import { settingsOf } from '@flagstream/persistence';

/** API views of stored rows: internal ids stay internal where keys identify things. */
export const present = {
  project: (p: ProjectEntity) => ({
    key: p.key,
    name: p.name,
    description: p.description,
    version: p.version,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  }),
  environment: (e: EnvironmentEntity, parentKey: string | null) => ({
    id: e.id,
    key: e.key,
    name: e.name,
    parent: parentKey,
    protected: e.protected,
    revision: e.revision,
    version: e.version,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
  }),
  flag: (f: FlagEntity) => ({
    key: f.key,
    name: f.name,
    kind: f.kind,
    variations: f.variations,
    description: f.description,
    tags: f.tags,
    clientVisible: f.clientVisible,
    archived: f.archived,
    version: f.version,
    createdAt: f.createdAt.toISOString(),
    updatedAt: f.updatedAt.toISOString(),
  }),
  flagSettings: (s: FlagEnvironmentEntity) => ({ ...settingsOf(s), version: s.version, updatedAt: s.updatedAt.toISOString() }),
  segment: (s: SegmentEntity) => ({
    key: s.key,
    name: s.name,
    description: s.description,
    included: s.included,
    excluded: s.excluded,
    rules: s.rules,
    version: s.version,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  }),
  sdkKey: (k: SdkKeyEntity, environment: string) => ({
    id: k.id,
    environment,
    kind: k.kind,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
  }),
  token: (t: ApiTokenEntity, projectKey: string | null) => ({
    id: t.id,
    name: t.name,
    role: t.role,
    project: projectKey,
    prefix: t.prefix,
    createdAt: t.createdAt.toISOString(),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
  }),
};

export { flagSnapshot, segmentSnapshot, settingsOf } from '@flagstream/persistence';
