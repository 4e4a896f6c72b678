import { DataSource, type EntityManager } from 'typeorm';
import { dataSourceOptions } from './database';
import { AuditRepository } from './repositories/audit.repository';
import { ConfigRepository } from './repositories/config.repository';
import { CredentialRepository } from './repositories/credential.repository';
import { EnvironmentRepository } from './repositories/environment.repository';
import { FlagRepository } from './repositories/flag.repository';
import { OutboxRepository } from './repositories/outbox.repository';
import { ProjectRepository } from './repositories/project.repository';
import { SegmentRepository } from './repositories/segment.repository';
import { SdkEventRepository } from './repositories/sdk-event.repository';
import { SnapshotRepository } from './repositories/snapshot.repository';
import { ScheduledChangeRepository } from './repositories/scheduled-change.repository';
import { ReleasePlanRepository } from './repositories/release-plan.repository';
import { SecretRepository } from './repositories/secret.repository';
import { KekRepository } from './repositories/kek.repository';
import { SigningKeyRepository } from './repositories/signing-key.repository';
import { CertificateRepository } from './repositories/certificate.repository';
import { ExperimentRepository } from './repositories/experiment.repository';

/** Every repository, bound to one connection or one transaction. */
export class Repositories {
  readonly projects: ProjectRepository;
  readonly environments: EnvironmentRepository;
  readonly flags: FlagRepository;
  readonly segments: SegmentRepository;
  readonly credentials: CredentialRepository;
  readonly audit: AuditRepository;
  readonly outbox: OutboxRepository;
  readonly snapshots: SnapshotRepository;
  readonly configs: ConfigRepository;
  readonly sdkEvents: SdkEventRepository;
  readonly scheduledChanges: ScheduledChangeRepository;
  readonly releasePlans: ReleasePlanRepository;
  readonly secrets: SecretRepository;
  readonly keks: KekRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly certificates: CertificateRepository;
  readonly experiments: ExperimentRepository;

  constructor(
    private readonly em: EntityManager,
    private readonly auditKey: string | undefined,
  ) {
    this.projects = new ProjectRepository(em);
    this.environments = new EnvironmentRepository(em);
    this.flags = new FlagRepository(em);
    this.segments = new SegmentRepository(em);
    this.credentials = new CredentialRepository(em);
    this.audit = new AuditRepository(em, auditKey);
    this.outbox = new OutboxRepository(em);
    this.snapshots = new SnapshotRepository(em);
    this.configs = new ConfigRepository(em);
    this.sdkEvents = new SdkEventRepository(em);
    this.scheduledChanges = new ScheduledChangeRepository(em);
    this.releasePlans = new ReleasePlanRepository(em);
    this.secrets = new SecretRepository(em);
    this.keks = new KekRepository(em);
    this.signingKeys = new SigningKeyRepository(em);
    this.certificates = new CertificateRepository(em);
    this.experiments = new ExperimentRepository(em);
  }

  /**
   * Runs `work` in a savepoint of the current transaction: if it throws, its writes are rolled
   * back and the error propagates, and the enclosing transaction carries on (a dry run, or a
   * change that may fail validation). Call inside `Store.transaction` only.
   */
  savepoint<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    if (!this.em.queryRunner?.isTransactionActive) throw new Error('savepoint() needs an open transaction (Store.transaction)');
    return this.em.transaction((em) => work(new Repositories(em, this.auditKey)));
  }
}

export interface StoreOptions {
  databaseUrl: string;
  /** HMAC key of the audit hash chain; processes that never write audit records omit it. */
  auditKey?: string;
  poolSize?: number;
  applicationName?: string;
}

/**
 * The only door to Postgres. Services read through `read` and write through `transaction`, and
 * never see TypeORM.
 */
export class Store {
  readonly read: Repositories;

  private constructor(
    private readonly ds: DataSource,
    private readonly auditKey: string | undefined,
  ) {
    this.read = new Repositories(ds.manager, auditKey);
  }

  static async connect(options: StoreOptions): Promise<Store> {
    const ds = new DataSource(
      dataSourceOptions(options.databaseUrl, { poolSize: options.poolSize, applicationName: options.applicationName }),
    );
    await ds.initialize();
    return new Store(ds, options.auditKey);
  }

  /** Runs `work` in one READ COMMITTED transaction: all of it commits, or none of it. */
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    return this.ds.transaction((em) => work(new Repositories(em, this.auditKey)));
  }

  /** Runs `work` in a read-only REPEATABLE READ transaction: one consistent view of the data. */
  snapshot<T>(work: (tx: Repositories) => Promise<T>): Promise<T> {
    return this.ds.transaction('REPEATABLE READ', async (em) => {
      await em.query('SET TRANSACTION READ ONLY');
      return work(new Repositories(em, this.auditKey));
    });
  }

  async ping(): Promise<void> {
    await this.ds.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}
