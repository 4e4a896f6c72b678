import { NotFoundError } from '@flagstream/errors';
import type { EnvironmentEntity, FlagEntity, ProjectEntity, Repositories, SegmentEntity } from '@flagstream/persistence';

/** Finders that turn "not there" into a 404 naming what was looked for. */
export async function mustProject(r: Repositories, key: string, lock = false): Promise<ProjectEntity> {
  const p = await r.projects.findByKey(key, lock);
  if (!p) throw new NotFoundError(`project "${key}" does not exist`);
  return p;
}

export async function mustEnvironment(r: Repositories, project: ProjectEntity, key: string): Promise<EnvironmentEntity> {
  const e = await r.environments.findByKey(project.id, key);
  if (!e) throw new NotFoundError(`environment "${key}" does not exist in project "${project.key}"`);
  return e;
}

export async function mustFlag(r: Repositories, project: ProjectEntity, key: string, lock = false): Promise<FlagEntity> {
  const f = await r.flags.findByKey(project.id, key, lock);
  if (!f) throw new NotFoundError(`flag "${key}" does not exist in project "${project.key}"`);
  return f;
}

export async function mustSegment(r: Repositories, project: ProjectEntity, key: string, lock = false): Promise<SegmentEntity> {
  const s = await r.segments.findByKey(project.id, key, lock);
  if (!s) throw new NotFoundError(`segment "${key}" does not exist in project "${project.key}"`);
  return s;
}
