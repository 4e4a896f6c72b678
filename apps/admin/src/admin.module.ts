import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import type { ChangeRelay } from '@flagstream/change-feed';
import { SecretRotations, type KekMaintenance } from '@flagstream/changes';
import { ExperimentResults, type ExperimentResultsOptions, type ReleasePlanQueuePort, type ScheduledChangeQueuePort } from '@flagstream/changes';
import type { EnvelopeCipher } from '@flagstream/crypto';
import type { Store } from '@flagstream/persistence';
import { PlatformModule, type PlatformOptions } from '@flagstream/server';
import { AuditController } from './audit/audit.controller';
import { AuthGuard } from './auth/auth.guard';
import { ChangeService, RELAY } from './changes/change.service';
import { ConfigController } from './configs/config.controller';
import { ConfigExplainer } from './configs/config.explainer';
import { ConfigService } from './configs/config.service';
import { EnvironmentConfigController } from './configs/environment-config.controller';
import { STORE } from './common/tokens';
import { createValidationPipe } from './common/validation.pipe';
import { EnvironmentController } from './environments/environment.controller';
import { ExperimentController } from './experiments/experiment.controller';
import { ExperimentService } from './experiments/experiment.service';
import { FlagController } from './flags/flag.controller';
import { FlagService } from './flags/flag.service';
import { KillSwitchController } from './flags/kill-switch.controller';
import { JobController } from './jobs/job.controller';
import type { JobQueues } from './jobs/job-queues';
import { JobService } from './jobs/job.service';
import { JOB_QUEUES } from './jobs/jobs.tokens';
import { ProjectController } from './projects/project.controller';
import { ReleasePlanController } from './release-plans/release-plan.controller';
import { ReleasePlanService } from './release-plans/release-plan.service';
import { RELEASE_PLAN_QUEUE } from './release-plans/release-plan.tokens';
import { PropagationController } from './propagation/propagation.controller';
import type { PropagationReader } from './propagation/propagation.reader';
import { PROPAGATION } from './propagation/propagation.tokens';
import { ScheduledChangeController } from './scheduling/scheduled-change.controller';
import { ScheduledChangeService } from './scheduling/scheduled-change.service';
import { SCHEDULE_QUEUE } from './scheduling/scheduling.tokens';
import { SecretPolicyController } from './secrets/secret-policy.controller';
import { SecretRotationController } from './secrets/secret-rotation.controller';
import { SecretController } from './secrets/secret.controller';
import { SecretService } from './secrets/secret.service';
import { KEK_MAINTENANCE, SECRET_CIPHER, SECRET_ROTATIONS } from './secrets/secret.tokens';
import { KekController } from './secrets/kek.controller';
import { SdkKeyController } from './sdk-keys/sdk-key.controller';
import { SigningKeySettingsController } from './signing-keys/signing-key-settings.controller';
import { SigningKeyController } from './signing-keys/signing-key.controller';
import { SigningKeyService } from './signing-keys/signing-key.service';
import { CertificateAuthorityController } from './certificates/certificate-authority.controller';
import { CertificateSettingsController } from './certificates/certificate-settings.controller';
import { CertificateController } from './certificates/certificate.controller';
import { CertificateService } from './certificates/certificate.service';
import { SegmentController } from './segments/segment.controller';
import { TokenController } from './tokens/token.controller';

export interface AdminDeps {
  store: Store;
  relay: Pick<ChangeRelay, 'kick'>;
  propagation: PropagationReader;
  platform: PlatformOptions;
  /**
   * Where scheduled changes get their jobs (a `ScheduledChangeQueue` on Redis). Without it they
   * are only stored, and the worker's sweep enqueues them within WORKER_SWEEP_MS.
   */
  scheduleQueue?: ScheduledChangeQueuePort;
  /** Where release plan transitions get their jobs; without it the worker's sweep enqueues them. */
  planQueue?: ReleasePlanQueuePort;
  /** Encrypts and decrypts secrets (the KEK's envelope cipher); without it the secret routes answer 409. */
  secretCipher?: EnvelopeCipher;
  /** The keyring's lifecycle over stored ciphertexts (status route); the admin checks the keyring with it at start. */
  kekMaintenance?: KekMaintenance;
  /**
   * Handles on the worker's queues, for the failed-jobs routes (`openJobQueues`). Without them
   * those routes answer 503.
   */
  jobQueues?: JobQueues;
  /** Settings of on-demand experiment aggregations (settle time); defaults otherwise. */
  experimentResults?: ExperimentResultsOptions;
}

@Module({})
export class AdminModule {
  static forRoot(deps: AdminDeps): DynamicModule {
    return {
      module: AdminModule,
      imports: [PlatformModule.forRoot(deps.platform)],
      controllers: [ProjectController, EnvironmentController, FlagController, SegmentController, SdkKeyController, TokenController, AuditController, PropagationController, ConfigController, EnvironmentConfigController, KillSwitchController, ScheduledChangeController, ReleasePlanController, SecretController, SecretPolicyController, SecretRotationController, KekController, SigningKeyController, SigningKeySettingsController, CertificateController, CertificateAuthorityController, CertificateSettingsController, JobController, ExperimentController],
      providers: [
        { provide: STORE, useValue: deps.store },
        { provide: RELAY, useValue: deps.relay },
        { provide: PROPAGATION, useValue: deps.propagation },
        { provide: SCHEDULE_QUEUE, useValue: deps.scheduleQueue ?? null },
        { provide: RELEASE_PLAN_QUEUE, useValue: deps.planQueue ?? null },
        { provide: SECRET_CIPHER, useValue: deps.secretCipher ?? null },
        { provide: KEK_MAINTENANCE, useValue: deps.kekMaintenance ?? null },
        { provide: JOB_QUEUES, useValue: deps.jobQueues ?? null },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: ExperimentResults, inject: [STORE], useFactory: (store: Store) => new ExperimentResults(store, deps.experimentResults) },
        ChangeService,
        FlagService,
        ConfigService,
        ConfigExplainer,
        ScheduledChangeService,
        ReleasePlanService,
        ExperimentService,
        SecretService,
        {
          provide: SECRET_ROTATIONS,
          inject: [STORE, ChangeService, SecretService],
          useFactory: (store: Store, changes: ChangeService, secrets: SecretService) => new SecretRotations(store, changes, secrets),
        },
        SigningKeyService,
        CertificateService,
        JobService,
      ],
    };
  }
}
