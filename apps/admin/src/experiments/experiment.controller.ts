import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { WriteContext } from '@flagstream/changes';
import { Writer } from '../auth/current.decorator';
import { Requires } from '../auth/requires.decorator';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { pageOf } from '../common/page.query';
import { CreateExperimentDto, ExperimentHistoryQuery, ExperimentListQuery, StopExperimentDto } from './experiment.dto';
import { ExperimentService } from './experiment.service';

/**
 * A/B tests on a flag's serve in one environment (docs/experiments.md#api). Writing needs the
 * editor role, and the owner role when the environment is protected.
 */
@ApiTags('experiments')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/experiments`)
export class ExperimentController {
  constructor(private readonly experiments: ExperimentService) {}

  @Post()
  @HttpCode(201)
  @Requires('editor')
  @ApiOperation({ summary: 'Create a draft experiment on a flag in one environment: variations and weights, coverage, unit attribute, metrics (exactly one primary)' })
  create(@Param('project', KeyPipe) projectKey: string, @Body() dto: CreateExperimentDto, @Writer() w: WriteContext) {
    return this.experiments.create(w, projectKey, dto);
  }

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'Experiments of the project, oldest first; filter by status, environment or flag' })
  list(@Param('project', KeyPipe) projectKey: string, @Query() q: ExperimentListQuery) {
    return this.experiments.list(projectKey, pageOf(q), { status: q.status, environment: q.environment, flag: q.flag });
  }

  @Get(':key')
  @Requires('viewer')
  @ApiOperation({ summary: 'One experiment: its definition, status, the rollout it writes, outcome' })
  get(@Param('project', KeyPipe) projectKey: string, @Param('key', KeyPipe) key: string) {
    return this.experiments.get(projectKey, key);
  }

  @Post(':key/start')
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({ summary: "Start a draft: writes the experiment's rollout into the serve it takes over (one running experiment per flag and environment, none beside an active release plan)" })
  start(@Param('project', KeyPipe) projectKey: string, @Param('key', KeyPipe) key: string, @Writer() w: WriteContext) {
    return this.experiments.start(w, projectKey, key);
  }

  @Post(':key/stop')
  @HttpCode(200)
  @Requires('editor')
  @ApiOperation({ summary: 'Stop a running experiment: restore the serve from before the start, or serve one variation there' })
  stop(@Param('project', KeyPipe) projectKey: string, @Param('key', KeyPipe) key: string, @Body() dto: StopExperimentDto, @Writer() w: WriteContext) {
    return this.experiments.stop(w, projectKey, key, { ...dto, reason: dto.reason ?? w.reason ?? undefined });
  }

  @Get(':key/results')
  @Requires('viewer')
  @ApiOperation({ summary: 'The results of the latest aggregation (snapshot null before the first one)' })
  results(@Param('project', KeyPipe) projectKey: string, @Param('key', KeyPipe) key: string) {
    return this.experiments.results(projectKey, key);
  }

  @Get(':key/results/history')
  @Requires('viewer')
  @ApiOperation({ summary: 'The results over time, one point per aggregation, oldest first; page with after (a snapshot id) and limit' })
  history(@Param('project', KeyPipe) projectKey: string, @Param('key', KeyPipe) key: string, @Query() q: ExperimentHistoryQuery) {
    return this.experiments.history(projectKey, key, q.limit ?? 100, q.after);
  }

  @Post(':key/results')
  @HttpCode(201)
  @Requires('editor')
  @ApiOperation({ summary: 'Aggregate now and return the fresh results (409 for a draft, or while another aggregation runs)' })
  aggregate(@Param('project', KeyPipe) projectKey: string, @Param('key', KeyPipe) key: string, @Writer() w: WriteContext) {
    return this.experiments.aggregate(w, projectKey, key);
  }
}
