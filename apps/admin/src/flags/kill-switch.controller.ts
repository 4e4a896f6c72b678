import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { BadRequestError, ForbiddenError, NotFoundError } from '@flagstream/errors';
import { flagSnapshot, settingsOf, type EnvironmentEntity, type FlagEntity } from '@flagstream/persistence';
import type { ChangeV1 } from '@flagstream/protocol';
import { Writer } from '../auth/current.decorator';
import { type EnvironmentChanges, mustProject, type ReleasePlanView, ROLE_RANK, type ScheduledChangeSpec, type ScheduledChangeView, type WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { ChangeService } from '../changes/change.service';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { ReleasePlanService } from '../release-plans/release-plan.service';
import { ScheduledChangeService } from '../scheduling/scheduled-change.service';
import { KillSwitchDto } from './kill-switch.dto';

interface KillReport {
  /** Flags turned off now, per environment, with the revision that carries it to SDKs. */
  killed: Array<{ flag: string; environment: string; revision: number }>;
  /** Flags that were already off there (nothing to do). */
  alreadyOff: Array<{ flag: string; environment: string }>;
  /** Each environment the call reached: its revision, and where to watch it reach the SDKs. */
  environments: Array<{ environment: string; revision: number | null; propagation: string | null }>;
  /** Pending scheduled changes of these flags in these environments, cancelled so they cannot undo the kill. */
  cancelledSchedules: Array<{ id: string; flag: string; environment: string; runAt: string; change: ScheduledChangeSpec }>;
  /** Running release plans of these flags in these environments, paused so they cannot turn them back on. */
  pausedPlans: Array<{ id: string; flag: string; environment: string; milestone: number; version: number }>;
}

/**
 * The kill switch for many flags at once: every listed flag (or every flag with a tag) off in the
 * listed environments, in one transaction, one audit record and one revision per environment.
 * It bypasses scheduled changes: their pending changes of those flags there are cancelled in the
 * same transaction, and their running release plans are paused.
 */
@ApiTags('flags')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/kill-switch`)
export class KillSwitchController {
  constructor(
    private readonly changes: ChangeService,
    private readonly schedules: ScheduledChangeService,
    private readonly plans: ReleasePlanService,
  ) {}

  @Post()
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({
    summary:
      'Turn off flags (by key or by tag) in some or all environments, at once, cancel their pending scheduled changes and pause their running release plans there. Idempotent; the answer gives each environment its revision and the propagation report to watch. Protected environments need the owner role.',
  })
  async kill(@Param('project', KeyPipe) projectKey: string, @Body() dto: KillSwitchDto, @Writer() w: WriteContext): Promise<KillReport> {
    if ((dto.flags === undefined) === (dto.tag === undefined)) {
      throw new BadRequestError('give either flags or tag', [{ path: dto.flags ? 'tag' : 'flags', message: 'exactly one of flags and tag is required' }]);
    }
    let cancelled: ScheduledChangeView[] = [];
    let paused: ReleasePlanView[] = [];
    const report = await this.changes.write(w, async (tx) => {
      const project = await mustProject(tx, projectKey);
      const all = await tx.environments.listAll(project.id);
      const envs = dto.environments === 'all' ? all : dto.environments.map((key) => all.find((e) => e.key === key) ?? missingEnvironment(key, project.key));
      const protectedEnv = envs.find((e) => e.protected);
      if (protectedEnv && ROLE_RANK[w.principal.role] < ROLE_RANK.owner) {
        throw new ForbiddenError(`environment "${protectedEnv.key}" is protected: turning flags off there needs the owner role`);
      }
      let flags: FlagEntity[];
      if (dto.flags) {
        const byKey = new Map((await tx.flags.listAll(project.id)).map((f) => [f.key, f]));
        const unknown = dto.flags.filter((k) => !byKey.has(k));
        if (unknown.length) throw new NotFoundError(`no flag ${unknown.map((k) => `"${k}"`).join(', ')} in project "${project.key}"`);
        flags = [...new Set(dto.flags)].map((k) => byKey.get(k)!);
      } else {
        flags = (await tx.flags.listAll(project.id)).filter((f) => f.tags.includes(dto.tag!));
        if (!flags.length) throw new NotFoundError(`no flag of project "${project.key}" carries the tag "${dto.tag}"`);
      }
      const killed: Array<{ flag: string; environment: EnvironmentEntity }> = [];
      const alreadyOff: KillReport['alreadyOff'] = [];
      const environments: EnvironmentChanges[] = [];
      for (const env of envs) {
        const changes: ChangeV1[] = [];
        for (const flag of flags) {
          const settings = await tx.flags.findSettings(flag.id, env.id, true);
          if (!settings || !settings.on) {
            alreadyOff.push({ flag: flag.key, environment: env.key });
            continue;
          }
          Object.assign(settings, { ...settingsOf(settings), on: false });
          const saved = await tx.flags.saveSettings(settings);
          killed.push({ flag: flag.key, environment: env });
          if (!flag.archived) changes.push({ type: 'flag.upsert', flag: flagSnapshot(flag, saved) });
        }
        if (changes.length) environments.push({ environment: env, changes });
      }
      cancelled = await this.schedules.cancelForFlagsIn(tx, project, envs, flags.map((f) => f.key));
      paused = await this.plans.pauseForFlagsIn(tx, w, project, envs, flags.map((f) => f.id));
      const pausedPlans = paused.map((p) => ({ id: p.id, flag: p.flag, environment: p.environment, milestone: p.currentMilestone, version: p.version }));
      const cancelledSchedules = cancelled.map((c) => ({ id: c.id, flag: flagOf(c.change), environment: c.environment, runAt: c.runAt, change: c.change }));
      const report = (revisions: ReadonlyMap<string, number>): KillReport => ({
        killed: killed.map((k) => ({ flag: k.flag, environment: k.environment.key, revision: revisions.get(k.environment.id) ?? k.environment.revision })),
        alreadyOff,
        environments: envs.map((e) => {
          const revision = revisions.get(e.id) ?? null;
          return {
            environment: e.key,
            revision,
            propagation: revision === null ? null : `/${API}/projects/${project.key}/environments/${e.key}/revisions/${revision}/propagation`,
          };
        }),
        cancelledSchedules,
        pausedPlans,
      });
      if (!killed.length && !cancelled.length && !paused.length) return { result: report(new Map()), audit: null };
      return {
        result: report(new Map()),
        withRevisions: report,
        project: project.key,
        environments,
        audit: {
          action: 'flag.killed',
          target: { type: dto.tag ? 'tag' : 'flags', key: dto.tag ?? flags.map((f) => f.key).join(',') },
          project: project.key,
          after: {
            killed: killed.map((k) => ({ flag: k.flag, environment: k.environment.key })),
            environments: envs.map((e) => e.key),
            cancelledSchedules: cancelledSchedules.map((c) => ({ id: c.id, flag: c.flag, environment: c.environment, runAt: c.runAt })),
            pausedPlans,
          },
        },
      };
    });
    await this.schedules.forget(cancelled);
    await this.plans.forget(paused);
    return report;
  }
}

function flagOf(change: ScheduledChangeSpec): string {
  return change.type === 'flag.settings' || change.type === 'flag.toggle' ? change.flag : '';
}

function missingEnvironment(key: string, project: string): never {
  throw new NotFoundError(`environment "${key}" does not exist in project "${project}"`);
}
