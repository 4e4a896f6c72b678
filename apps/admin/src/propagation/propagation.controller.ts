import { Controller, Get, Inject, Param, ParseIntPipe } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { NotFoundError, ValidationError } from '@flagstream/errors';
import type { Store } from '@flagstream/persistence';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { mustEnvironment, mustProject } from '@flagstream/changes';
import { STORE } from '../common/tokens';
import { PROPAGATION, type PropagationReport } from './propagation.tokens';
import type { PropagationReader } from './propagation.reader';

/** How far a revision got: "reached 99.7% of 8,412 SDKs; p99 41 ms after commit". */
@ApiTags('propagation')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/environments/:env/revisions`)
export class PropagationController {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(PROPAGATION) private readonly reader: PropagationReader,
  ) {}

  @Get(':revision/propagation')
  @Requires('viewer')
  async get(
    @Param('project', KeyPipe) projectKey: string,
    @Param('env', KeyPipe) envKey: string,
    @Param('revision', new ParseIntPipe({ exceptionFactory: () => new ValidationError('revision must be a positive integer', [{ path: 'revision', message: 'not an integer' }]) })) revision: number,
  ): Promise<PropagationReport> {
    if (revision < 1) throw new ValidationError('revision must be a positive integer', [{ path: 'revision', message: 'must be 1 or more' }]);
    const project = await mustProject(this.store.read, projectKey);
    const env = await mustEnvironment(this.store.read, project, envKey);
    if (revision > env.revision) throw new NotFoundError(`environment "${envKey}" is at revision ${env.revision}; revision ${revision} does not exist yet`);
    const report = await this.reader.read(env.id, revision);
    if (!report) throw new NotFoundError(`no propagation receipts for revision ${revision} of "${envKey}": no gateway served it, or they expired (kept 24 h)`);
    return report;
  }
}
