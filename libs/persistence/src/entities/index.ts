export * from './project.entity';
export * from './environment.entity';
export * from './flag.entity';
export * from './flag-environment.entity';
export * from './segment.entity';
export * from './api-token.entity';
export * from './sdk-key.entity';
export * from './audit-event.entity';
export * from './outbox.entity';
export * from './config-item.entity';
export * from './config-layer.entity';
export * from './config-version.entity';
export * from './scheduled-change.entity';
export * from './release-plan.entity';
export * from './secret.entity';
export * from './signing-key.entity';
export * from './certificate.entity';
export * from './experiment.entity';

import { ApiTokenEntity } from './api-token.entity';
import { AuditEventEntity } from './audit-event.entity';
import { ConfigItemEntity } from './config-item.entity';
import { ConfigLayerEntity } from './config-layer.entity';
import { ConfigVersionEntity } from './config-version.entity';
import { EnvironmentEntity } from './environment.entity';
import { FlagEnvironmentEntity } from './flag-environment.entity';
import { FlagEntity } from './flag.entity';
import { OutboxEntity } from './outbox.entity';
import { ProjectEntity } from './project.entity';
import { SdkKeyEntity } from './sdk-key.entity';
import { SegmentEntity } from './segment.entity';
import { ScheduledChangeEntity } from './scheduled-change.entity';
import { SecretEntity, SecretPolicyEntity, SecretRotationPolicyEntity, SecretVersionEntity } from './secret.entity';
import { SigningKeyEntity, SigningKeySettingsEntity } from './signing-key.entity';
import { ExperimentEntity, ExperimentMetricEntity, ExperimentSnapshotEntity } from './experiment.entity';
import { CertificateAuthorityEntity, CertificateEntity, CertificateSettingsEntity, CertificateVersionEntity } from './certificate.entity';
import { ReleasePlanEntity, ReleasePlanGuardrailEntity, ReleasePlanMilestoneEntity, ReleasePlanTransitionEntity } from './release-plan.entity';

export const ENTITIES = [
  ProjectEntity,
  EnvironmentEntity,
  FlagEntity,
  FlagEnvironmentEntity,
  SegmentEntity,
  ApiTokenEntity,
  SdkKeyEntity,
  AuditEventEntity,
  OutboxEntity,
  ConfigItemEntity,
  ConfigLayerEntity,
  ConfigVersionEntity,
  ScheduledChangeEntity,
  ReleasePlanEntity,
  ReleasePlanMilestoneEntity,
  ReleasePlanTransitionEntity,
  ReleasePlanGuardrailEntity,
  SecretEntity,
  SecretVersionEntity,
  SecretPolicyEntity,
  SecretRotationPolicyEntity,
  SigningKeyEntity,
  SigningKeySettingsEntity,
  CertificateAuthorityEntity,
  CertificateEntity,
  CertificateVersionEntity,
  CertificateSettingsEntity,
  ExperimentEntity,
  ExperimentMetricEntity,
  ExperimentSnapshotEntity,
];
