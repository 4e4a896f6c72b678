import type { EntityManager } from 'typeorm';
import { configSnapshotFor } from '@flagstream/config';
import type { ConfigItemSnapshotV1, FlagSnapshotV1, SegmentSnapshotV1 } from '@flagstream/protocol';
import { chainOf, environmentNodes, storedLayer } from '../config.mapper';
import { ConfigItemEntity, ConfigLayerEntity, EnvironmentEntity, FlagEntity, FlagEnvironmentEntity, ProjectEntity, SegmentEntity } from '../entities';
import { flagSnapshot, segmentSnapshot } from '../snapshot.mapper';

/** An environment's whole SDK-visible state at one revision. */
export interface EnvironmentState {
  environmentId: string;
  project: string;
  environment: string;
  revision: number;
  flags: FlagSnapshotV1[];
  segments: SegmentSnapshotV1[];
  configs: ConfigItemSnapshotV1[];
}

export class SnapshotRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Loads the state; call it inside `Store.snapshot` so the revision and the rows come from one
   * consistent view. Archived flags are not part of SDK state. Null when the environment is gone.
   */
  async load(environmentId: string): Promise<EnvironmentState | null> {
    const env = await this.em.getRepository(EnvironmentEntity).findOneBy({ id: environmentId });
    if (!env) return null;
    const project = await this.em.getRepository(ProjectEntity).findOneByOrFail({ id: env.projectId });
    const settings = await this.em.getRepository(FlagEnvironmentEntity).findBy({ environmentId });
    const flags = settings.length
      ? await this.em
          .getRepository(FlagEntity)
          .createQueryBuilder('f')
          .where('f.id = ANY(:ids) AND f.archived = false', { ids: settings.map((s) => s.flagId) })
          .getMany()
      : [];
    const byFlag = new Map(settings.map((s) => [s.flagId, s]));
    const segments = await this.em.getRepository(SegmentEntity).find({ where: { projectId: env.projectId }, order: { key: 'ASC' } });
    return {
      environmentId,
      project: project.key,
      environment: env.key,
      revision: env.revision,
      flags: flags
        .map((f) => flagSnapshot(f, byFlag.get(f.id)!))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      segments: segments.map(segmentSnapshot),
      configs: await this.configs(project, env),
    };
  }

  /** Config items with the layers of the environment's chain. */
  private async configs(project: ProjectEntity, env: EnvironmentEntity): Promise<ConfigItemSnapshotV1[]> {
    const items = await this.em.getRepository(ConfigItemEntity).find({ where: { projectId: project.id, deleted: false }, order: { key: 'ASC' } });
    if (!items.length) return [];
    const envs = await this.em.getRepository(EnvironmentEntity).findBy({ projectId: project.id });
    const keyById = new Map(envs.map((e) => [e.id, e.key]));
    const chain = chainOf(env.key, environmentNodes(envs));
    const layers = await this.em
      .getRepository(ConfigLayerEntity)
      .createQueryBuilder('l')
      .where('l.item_id = ANY(:ids)', { ids: items.map((i) => i.id) })
      .getMany();
    return items.map((item) =>
      configSnapshotFor(
        item,
        layers.filter((l) => l.itemId === item.id).map((l) => storedLayer(l, keyById)),
        chain,
        project.tenantAttribute,
      ),
    );
  }

  /** Current revisions of these environments (a cheap check for a gateway that may be behind). */
  async revisions(environmentIds: readonly string[]): Promise<Map<string, number>> {
    if (!environmentIds.length) return new Map();
    const rows: Array<{ id: string; revision: string }> = await this.em.query('SELECT id, revision FROM environments WHERE id = ANY($1::uuid[])', [environmentIds]);
    return new Map(rows.map((r) => [r.id, Number(r.revision)]));
  }

  /** Ids of these SDK keys that are revoked (or gone). */
  async revokedSdkKeys(keyIds: readonly string[]): Promise<string[]> {
    if (!keyIds.length) return [];
    const rows: Array<{ id: string }> = await this.em.query('SELECT id FROM sdk_keys WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL', [keyIds]);
    const active = new Set(rows.map((r) => r.id));
    return keyIds.filter((id) => !active.has(id));
  }
}
