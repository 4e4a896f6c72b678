import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { EXPERIMENT_DEFAULTS, MAX_EXPERIMENT_METRICS, MAX_EXPERIMENT_VARIATIONS, MAX_EXPERIMENT_WEIGHT, MAX_METRIC_WINDOW_SECONDS } from '@flagstream/changes';
import { EXPERIMENT_METRIC_KINDS, EXPERIMENT_METRIC_ROLES, EXPERIMENT_STATUSES, type ExperimentMetricKind, type ExperimentMetricRole, type ExperimentStatus } from '@flagstream/persistence';
import { KeyFilterProperty, ReasonProperty } from '../common/dto.properties';
import { PageQuery } from '../common/page.query';

// The DTOs check types and unknown fields; the domain (experimentProblems) checks the values and
// reports every problem of a body at once, each with its path.

const finite = { allowNaN: false, allowInfinity: false } as const;

export class ExperimentVariationDto {
  @ApiProperty({ example: 'green' })
  @IsString()
  @MaxLength(64)
  variation!: string;

  @ApiProperty({ description: `relative weight, more than 0 and at most ${MAX_EXPERIMENT_WEIGHT}`, example: 1 })
  @IsNumber(finite)
  weight!: number;
}

export class ExperimentMetricDto {
  @ApiProperty({ description: 'a slug, unique in the experiment', example: 'purchase' })
  @IsString()
  @MaxLength(64)
  key!: string;

  @ApiProperty({ enum: EXPERIMENT_METRIC_ROLES, description: 'exactly one metric is primary' })
  @IsIn(EXPERIMENT_METRIC_ROLES as ExperimentMetricRole[])
  role!: ExperimentMetricRole;

  @ApiProperty({ enum: EXPERIMENT_METRIC_KINDS, description: 'conversion: sent the event at least once; count: events per unit; sum: values per unit; mean: Σvalues / Σevents; ratio: Σevent values / Σdenominator event values' })
  @IsIn(EXPERIMENT_METRIC_KINDS as ExperimentMetricKind[])
  kind!: ExperimentMetricKind;

  @ApiProperty({ description: 'name of the metric events the SDKs send (the numerator for ratio)', example: 'checkout.completed' })
  @IsString()
  @MaxLength(128)
  event!: string;

  @ApiPropertyOptional({ description: 'ratio metrics only (and required there): the denominator event', example: 'session.started' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  denominatorEvent?: string;

  @ApiPropertyOptional({ description: `only events within this many seconds after a unit's first exposure count (1 to ${MAX_METRIC_WINDOW_SECONDS}); default: until the stop` })
  @IsOptional()
  @IsInt()
  windowSeconds?: number;

  @ApiPropertyOptional({ default: false, description: 'a decrease is the improvement (latency, errors)' })
  @IsOptional()
  @IsBoolean()
  lowerIsBetter?: boolean;
}

export class CreateExperimentDto {
  @ApiProperty({ description: 'a slug, unique in the project; exposures carry it', example: 'checkout-button' })
  @IsString()
  @MaxLength(64)
  key!: string;

  @ApiProperty({ example: 'Green checkout button' })
  @IsString()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ example: 'A green button raises checkout conversion' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  hypothesis?: string;

  @ApiProperty({ example: 'production' })
  @IsString()
  @MaxLength(64)
  environment!: string;

  @ApiProperty({ example: 'checkout-button' })
  @IsString()
  @MaxLength(64)
  flag!: string;

  @ApiProperty({ description: 'the variation the others are compared with; one of variations', example: 'blue' })
  @IsString()
  @MaxLength(64)
  control!: string;

  @ApiProperty({ type: [ExperimentVariationDto], description: `2 to ${MAX_EXPERIMENT_VARIATIONS} distinct variations of the flag, control included, with relative weights` })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ExperimentVariationDto)
  variations!: ExperimentVariationDto[];

  @ApiPropertyOptional({ default: EXPERIMENT_DEFAULTS.coverage, description: 'share of eligible units that enter (more than 0, at most 1, at most 5 decimals); the others get control, untracked' })
  @IsOptional()
  @IsNumber(finite)
  coverage?: number;

  @ApiPropertyOptional({ default: EXPERIMENT_DEFAULTS.unitAttribute, description: 'attribute path units are bucketed and counted by', example: 'account.id' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  unitAttribute?: string;

  @ApiPropertyOptional({ description: "id of the flag's targeting rule (in the environment) whose serve the experiment takes over; default: the default serve" })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  rule?: string;

  @ApiPropertyOptional({ enum: ['all', 'server'], default: EXPERIMENT_DEFAULTS.eventSources, description: 'whose events count: all SDK keys, or server keys only (client keys are public)' })
  @IsOptional()
  @IsIn(['all', 'server'])
  eventSources?: 'all' | 'server';

  @ApiPropertyOptional({ default: EXPERIMENT_DEFAULTS.alpha, description: 'significance level, more than 0 and less than 0.5' })
  @IsOptional()
  @IsNumber(finite)
  alpha?: number;

  @ApiProperty({ type: [ExperimentMetricDto], description: `1 to ${MAX_EXPERIMENT_METRICS} metrics, exactly one primary` })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ExperimentMetricDto)
  metrics!: ExperimentMetricDto[];
}

export class ExperimentListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: EXPERIMENT_STATUSES })
  @IsOptional()
  @IsIn(EXPERIMENT_STATUSES as ExperimentStatus[])
  status?: ExperimentStatus;

  @KeyFilterProperty('environment')
  environment?: string;

  @KeyFilterProperty('flag')
  flag?: string;
}

export class StopExperimentDto {
  @ApiProperty({ enum: ['restore', 'variation'], description: 'restore: put back the serve from before the start; variation: serve one variation there (ship the winner)' })
  @IsIn(['restore', 'variation'])
  action!: 'restore' | 'variation';

  @ApiPropertyOptional({ description: 'with action "variation": the variation to serve', example: 'green' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  variation?: string;

  @ReasonProperty('why (kept in the outcome and the audit record; defaults to the X-Flagstream-Reason header)')
  reason?: string;
}

export const MAX_HISTORY_PAGE = 500;

export class ExperimentHistoryQuery {
  @ApiPropertyOptional({ description: 'snapshot id: the page starts after it (the nextAfter of the previous page)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  // Snapshot ids are bigints; beyond 2^53 a number is not exact (and Postgres would refuse it).
  @Max(Number.MAX_SAFE_INTEGER)
  after?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_HISTORY_PAGE, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_HISTORY_PAGE)
  limit?: number;
}
