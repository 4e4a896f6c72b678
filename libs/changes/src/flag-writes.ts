import { ConflictError, ForbiddenError, ValidationError } from '@flagstream/errors';
import {
  defaultFlagEnvironmentSettings,
  defaultVariations,
  type ChangeV1,
  type FlagDefinitionV1,
  type FlagEnvironmentSettingsV1,
  type FlagKind,
  type PrerequisiteV1,
  type RuleV1,
  type ServeV1,
  type VariationV1,
  type SegmentDefinitionV1,
} from '@flagstream/protocol';
import { validateFlagDefinition, validateFlagEnvironment } from '@flagstream/targeting';
import type { EnvironmentEntity, FlagEntity, FlagEnvironmentEntity, ProjectEntity, Repositories, Store } from '@flagstream/persistence';
import type { ChangeOutcome, ChangeWriter, EnvironmentChanges } from './change-writer';
import { mustEnvironment, mustFlag, mustProject } from './lookup';
import { flagSnapshot, present, settingsOf } from './presenters';
import { assertVersion } from './version';
import { ROLE_RANK, type WriteContext } from './write-context';

/** What creating a flag takes (the admin's DTO satisfies it). */
export interface CreateFlagInput {
  key: string;
  kind: FlagKind;
  name?: string;
  variations?: VariationV1[];
  description?: string;
  tags?: string[];
  clientVisible?: boolean;
}

/** What changing a flag's definition takes. */
export type UpdateFlagInput = Partial<Omit<CreateFlagInput, 'key' | 'kind'>>;

/** A flag's settings in one environment, as written (salt optional: kept when absent). */
export interface FlagSettingsInput {
  on: boolean;
  offVariation: string;
  prerequisites: PrerequisiteV1[];
  rules: RuleV1[];
  defaultServe: ServeV1;
  salt?: string;
  version?: number;
}

type FlagView = ReturnType<typeof present.flag>;
type SettingsView = ReturnType<typeof present.flagSettings>;

export class FlagWrites {
  constructor(
    private readonly store: Store,
    private readonly changes: ChangeWriter,
  ) {}

  async get(projectKey: string, flagKey: string) {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const flag = await mustFlag(r, project, flagKey);
    const envs = await r.environments.listAll(project.id);
    const settings = new Map((await r.flags.listSettings(flag.id)).map((s) => [s.environmentId, s]));
    const environments: Record<string, SettingsView> = {};
    for (const env of envs) {
      const s = settings.get(env.id);
      if (s) environments[env.key] = present.flagSettings(s);
    }
    return { ...present.flag(flag), environments };
  }

  create(w: WriteContext, projectKey: string, dto: CreateFlagInput): Promise<FlagView> {
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const def: FlagDefinitionV1 = { key: dto.key, kind: dto.kind, variations: dto.variations ?? defaultVariations(dto.kind) };
      const problems = validateFlagDefinition(def);
      if (problems.length) throw ValidationError.fromProblems('flag is not valid', problems);
      const flag = await tx.flags.insert({
        projectId: project.id,
        key: dto.key,
        name: dto.name ?? dto.key,
        kind: dto.kind,
        variations: def.variations,
        description: dto.description ?? '',
        tags: dto.tags ?? [],
        clientVisible: dto.clientVisible ?? false,
        archived: false,
      });
      const environments: EnvironmentChanges[] = [];
      for (const env of await tx.environments.listAll(project.id)) {
        // The flag key is the default salt, so a user lands in the same bucket in every environment.
        const settings = await tx.flags.insertSettings({ flagId: flag.id, environmentId: env.id, ...defaultFlagEnvironmentSettings(def, flag.key) });
        environments.push({ environment: env, changes: [{ type: 'flag.upsert', flag: flagSnapshot(flag, settings) }] });
      }
      const view = present.flag(flag);
      return { result: view, project: project.key, environments, audit: { action: 'flag.created', target: { type: 'flag', key: flag.key }, project: project.key, after: view } };
    });
  }

  update(w: WriteContext, projectKey: string, flagKey: string, expected: number, dto: UpdateFlagInput): Promise<FlagView> {
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const flag = await mustFlag(tx, project, flagKey, true);
      assertVersion(flag.version, expected, `flag "${flagKey}"`);
      const before = present.flag(flag);
      if (dto.variations) {
        const def: FlagDefinitionV1 = { key: flag.key, kind: flag.kind, variations: dto.variations };
        const problems = validateFlagDefinition(def);
        if (problems.length) throw ValidationError.fromProblems('flag is not valid', problems);
        // Variations that rules, defaults or other flags' prerequisites use must survive the change.
        await this.revalidateEverywhere(tx, project, { ...flag, variations: dto.variations });
      }
      Object.assign(flag, {
        name: dto.name ?? flag.name,
        description: dto.description ?? flag.description,
        tags: dto.tags ?? flag.tags,
        clientVisible: dto.clientVisible ?? flag.clientVisible,
        variations: dto.variations ?? flag.variations,
      });
      const saved = await tx.flags.save(flag);
      const environments = flag.archived ? [] : await this.upsertEverywhere(tx, project, saved);
      const after = present.flag(saved);
      return { result: after, project: project.key, environments, audit: { action: 'flag.updated', target: { type: 'flag', key: flagKey }, project: project.key, before, after } };
    });
  }

  /** Archived flags leave every SDK stream (a `flag.delete`) but keep their history and settings. */
  setArchived(w: WriteContext, projectKey: string, flagKey: string, archived: boolean): Promise<FlagView> {
    return this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const flag = await mustFlag(tx, project, flagKey, true);
      const before = present.flag(flag);
      if (flag.archived === archived) return { result: before, audit: null };
      if (archived) await this.refuseIfPrerequisite(tx, project, flag);
      await this.refuseIfLiveInProtected(w, tx, project, flag, archived ? 'archiving' : 'restoring');
      flag.archived = archived;
      const saved = await tx.flags.save(flag);
      const environments: EnvironmentChanges[] = archived
        ? (await tx.environments.listAll(project.id)).map((environment) => ({ environment, changes: [{ type: 'flag.delete', key: flag.key } satisfies ChangeV1] }))
        : await this.upsertEverywhere(tx, project, saved);
      const after = present.flag(saved);
      return { result: after, project: project.key, environments, audit: { action: archived ? 'flag.archived' : 'flag.restored', target: { type: 'flag', key: flagKey }, project: project.key, before, after } };
    });
  }

  async getSettings(projectKey: string, flagKey: string, envKey: string): Promise<SettingsView> {
    const r = this.store.read;
    const project = await mustProject(r, projectKey);
    const env = await mustEnvironment(r, project, envKey);
    const flag = await mustFlag(r, project, flagKey);
    return present.flagSettings(await this.mustSettings(r, flag, env));
  }

  /** Replaces a flag's settings in one environment after the targeting engine validated them. */
  putSettings(w: WriteContext, projectKey: string, flagKey: string, envKey: string, expected: number, dto: FlagSettingsInput): Promise<SettingsView> {
    return this.changes.write(w, (tx) => this.putSettingsIn(tx, w, projectKey, flagKey, envKey, expected, dto));
  }

  /**
   * `putSettings` inside the caller's transaction: checks the caller's rights and the version
   * (when `expected` is given), validates, saves, and returns the outcome for `ChangeWriter.write`.
   */
  async putSettingsIn(tx: Repositories, w: WriteContext, projectKey: string, flagKey: string, envKey: string, expected: number | undefined, dto: FlagSettingsInput): Promise<ChangeOutcome<SettingsView>> {
    const project = await mustProject(tx, projectKey);
    const env = await mustEnvironment(tx, project, envKey);
    this.assertMayChange(w, env);
    const flag = await mustFlag(tx, project, flagKey);
    const current = await this.mustSettings(tx, flag, env, true);
    if (expected !== undefined) assertVersion(current.version, expected, `flag "${flagKey}" in environment "${envKey}"`);
    const { version: _v, ...body } = dto;
    const next: FlagEnvironmentSettingsV1 = { ...body, salt: dto.salt ?? current.salt };
    const problems = validateFlagEnvironment(flag, next, await this.known(tx, project, env));
    if (problems.length) throw ValidationError.fromProblems('flag settings are not valid', problems);
    return this.saveSettings(tx, project, env, flag, current, next, 'flag.settings.updated');
  }

  /** The kill switch: one call, no version needed, idempotent. */
  toggle(w: WriteContext, projectKey: string, flagKey: string, envKey: string, on: boolean): Promise<SettingsView> {
    return this.changes.write(w, (tx) => this.toggleIn(tx, w, projectKey, flagKey, envKey, on));
  }

  /** `toggle` inside the caller's transaction; a toggle to the current state is a no-op (no audit). */
  async toggleIn(tx: Repositories, w: WriteContext, projectKey: string, flagKey: string, envKey: string, on: boolean): Promise<ChangeOutcome<SettingsView>> {
    const project = await mustProject(tx, projectKey);
    const env = await mustEnvironment(tx, project, envKey);
    this.assertMayChange(w, env);
    const flag = await mustFlag(tx, project, flagKey);
    const current = await this.mustSettings(tx, flag, env, true);
    if (current.on === on) return { result: present.flagSettings(current), audit: null };
    return this.saveSettings(tx, project, env, flag, current, { ...settingsOf(current), on }, on ? 'flag.turned_on' : 'flag.turned_off');
  }

  private async saveSettings(
    tx: Repositories,
    project: ProjectEntity,
    env: EnvironmentEntity,
    flag: FlagEntity,
    current: FlagEnvironmentEntity,
    next: FlagEnvironmentSettingsV1,
    action: string,
  ): Promise<ChangeOutcome<SettingsView>> {
    const before = present.flagSettings(current);
    Object.assign(current, next);
    const saved = await tx.flags.saveSettings(current);
    const after = present.flagSettings(saved);
    return {
      result: after,
      project: project.key,
      environments: flag.archived ? [] : [{ environment: env, changes: [{ type: 'flag.upsert', flag: flagSnapshot(flag, saved) } satisfies ChangeV1] }],
      audit: { action, target: { type: 'flag', key: flag.key }, project: project.key, environment: env.key, before, after },
    };
  }

  private assertMayChange(w: WriteContext, env: EnvironmentEntity): void {
    if (env.protected && ROLE_RANK[w.principal.role] < ROLE_RANK.owner) {
      throw new ForbiddenError(`environment "${env.key}" is protected: changes there need the owner role`);
    }
  }

  private async mustSettings(r: Repositories, flag: FlagEntity, env: EnvironmentEntity, lock = false): Promise<FlagEnvironmentEntity> {
    const s = await r.flags.findSettings(flag.id, env.id, lock);
    // Created with the flag or the environment; absence means a broken invariant, not a client error.
    if (!s) throw new Error(`settings of flag ${flag.id} in environment ${env.id} are missing`);
    return s;
  }

  /** What a flag's settings may refer to in one environment: segments and the other flags. */
  private async known(tx: Repositories, project: ProjectEntity, env: EnvironmentEntity) {
    const segments = new Map<string, SegmentDefinitionV1>(
      (await tx.segments.listAll(project.id)).map((s) => [s.key, { key: s.key, included: s.included, excluded: s.excluded, rules: s.rules }]),
    );
    const flags = new Map<string, { definition: FlagDefinitionV1; settings: FlagEnvironmentSettingsV1 }>();
    for (const { flag, settings } of await tx.flags.listWithSettings(env.id)) {
      if (!flag.archived) flags.set(flag.key, { definition: flag, settings: settingsOf(settings) });
    }
    return { segments, flags };
  }

  private async revalidateEverywhere(tx: Repositories, project: ProjectEntity, flag: FlagEntity): Promise<void> {
    const problems: Array<{ path?: string; message: string }> = [];
    for (const env of await tx.environments.listAll(project.id)) {
      const known = await this.known(tx, project, env);
      known.flags.set(flag.key, { definition: flag, settings: settingsOf(await this.mustSettings(tx, flag, env)) });
      for (const [key, other] of known.flags) {
        for (const p of validateFlagEnvironment(other.definition, other.settings, known)) {
          problems.push({ path: `environments.${env.key}.flags.${key}.${p.path}`, message: p.message });
        }
      }
    }
    if (problems.length) throw new ValidationError('the new variations would break flag settings that use the old ones', problems);
  }

  /** Archiving or restoring changes what a protected environment serves where the flag is on there: owners only. */
  private async refuseIfLiveInProtected(w: WriteContext, tx: Repositories, project: ProjectEntity, flag: FlagEntity, what: 'archiving' | 'restoring'): Promise<void> {
    if (ROLE_RANK[w.principal.role] >= ROLE_RANK.owner) return;
    for (const env of await tx.environments.listAll(project.id)) {
      if (env.protected && (await this.mustSettings(tx, flag, env)).on) {
        throw new ForbiddenError(`flag "${flag.key}" is on in protected environment "${env.key}": ${what} it needs the owner role`);
      }
    }
  }

  private async refuseIfPrerequisite(tx: Repositories, project: ProjectEntity, flag: FlagEntity): Promise<void> {
    const users = new Set<string>();
    for (const env of await tx.environments.listAll(project.id)) {
      for (const { flag: other, settings } of await tx.flags.listWithSettings(env.id)) {
        if (!other.archived && settings.prerequisites.some((p) => p.flag === flag.key)) users.add(other.key);
      }
    }
    if (users.size) {
      throw new ConflictError(`flag "${flag.key}" is a prerequisite of ${[...users].map((k) => `"${k}"`).join(', ')}; remove it there first`);
    }
  }

  private async upsertEverywhere(tx: Repositories, project: ProjectEntity, flag: FlagEntity): Promise<EnvironmentChanges[]> {
    const out: EnvironmentChanges[] = [];
    for (const env of await tx.environments.listAll(project.id)) {
      const settings = await this.mustSettings(tx, flag, env);
      out.push({ environment: env, changes: [{ type: 'flag.upsert', flag: flagSnapshot(flag, settings) }] });
    }
    return out;
  }
}
