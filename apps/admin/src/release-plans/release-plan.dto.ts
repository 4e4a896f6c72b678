import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { GUARDRAIL_DEFAULTS, MAX_BAKE_SECONDS, MAX_GUARDRAILS, MAX_GUARDRAIL_WINDOW_SECONDS, MAX_MILESTONES } from '@flagstream/changes';
import { RELEASE_PLAN_STATUSES, type ReleasePlanStatus } from '@flagstream/persistence';
import { KEY_PATTERN, METRIC_NAME_PATTERN } from '@flagstream/protocol';
import { KeyFilterProperty, ReasonProperty } from '../common/dto.properties';
import { PageQuery } from '../common/page.query';
import { KEY_MESSAGE } from '../projects/project.dto';

export class WeightDto {
  @ApiProperty() @IsString() @MaxLength(64) variation!: string;
  @ApiProperty({ description: 'units of 1/100,000' }) @IsInt() @Min(0) weight!: number;
}

export class MilestoneDto {
  @ApiPropertyOptional({ description: 'share of the treatment, more than 0 and at most 100 (strictly increasing); or give weights', example: 5 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 3 })
  percentage?: number;

  @ApiPropertyOptional({ type: [WeightDto], description: 'explicit variation weights summing to 100,000' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => WeightDto)
  weights?: WeightDto[];

  @ApiPropertyOptional({ description: `gate: seconds to wait before the next milestone (1 to ${MAX_BAKE_SECONDS})` })
  @IsOptional()
  @IsInt()
  bakeSeconds?: number;

  @ApiPropertyOptional({ description: 'gate: wait for an advance call' })
  @IsOptional()
  @IsBoolean()
  manual?: boolean;
}

const d = GUARDRAIL_DEFAULTS;

/** A guardrail (docs/rollouts.md#guardrails); the domain checks the combinations. */
export class GuardrailDto {
  @ApiProperty({ description: 'name of the metric events the SDKs send', example: 'checkout.errors' })
  @IsString()
  @Matches(METRIC_NAME_PATTERN, { message: `metric must match ${METRIC_NAME_PATTERN.source}` })
  metric!: string;

  @ApiPropertyOptional({ enum: ['rate', 'mean'], default: d.statistic, description: 'rate: share of exposed units that sent the metric; mean: the metric total per exposed unit' })
  @IsOptional()
  @IsIn(['rate', 'mean'])
  statistic?: 'rate' | 'mean';

  @ApiPropertyOptional({ enum: ['control', 'absolute'], default: d.comparison, description: 'control: treatment vs units served anything else; absolute: treatment vs threshold' })
  @IsOptional()
  @IsIn(['control', 'absolute'])
  comparison?: 'control' | 'absolute';

  @ApiPropertyOptional({ enum: ['higher', 'lower'], default: d.worseWhen })
  @IsOptional()
  @IsIn(['higher', 'lower'])
  worseWhen?: 'higher' | 'lower';

  @ApiPropertyOptional({ description: 'with comparison "absolute": the rate (0..1) or mean past which it is a breach', example: 0.02 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  threshold?: number;

  @ApiPropertyOptional({ default: d.maxRelativeChange, description: 'with comparison "control": relative worsening tolerated (0.1 = 10%)' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  maxRelativeChange?: number;

  @ApiPropertyOptional({ default: d.alpha, description: 'with comparison "control": one-sided significance level' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  alpha?: number;

  @ApiPropertyOptional({ default: d.windowSeconds, description: `seconds of events looked at (10 to ${MAX_GUARDRAIL_WINDOW_SECONDS})` })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(MAX_GUARDRAIL_WINDOW_SECONDS)
  windowSeconds?: number;

  @ApiPropertyOptional({ default: d.minSampleSize, description: 'units each compared group needs before a verdict' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  minSampleSize?: number;

  @ApiPropertyOptional({ enum: ['previous-milestone', 'off'], default: d.rollback, description: 'where a breach sends the flag' })
  @IsOptional()
  @IsIn(['previous-milestone', 'off'])
  rollback?: 'previous-milestone' | 'off';

  @ApiPropertyOptional({ enum: ['server', 'all'], default: d.eventSources, description: 'whose events count: server SDK keys only, or client keys too (public keys: anyone can send)' })
  @IsOptional()
  @IsIn(['server', 'all'])
  eventSources?: 'server' | 'all';
}

export class CreateReleasePlanDto {
  @ApiProperty({ example: 'production' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @ApiProperty({ example: 'new-checkout' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `flag ${KEY_MESSAGE}` })
  flag!: string;

  @ApiPropertyOptional({ description: 'variation outside the rollout (default: the off variation)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  control?: string;

  @ApiPropertyOptional({ description: 'variation rolled out (default for boolean flags: the true one)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  treatment?: string;

  @ApiProperty({ type: [MilestoneDto], description: `1 to ${MAX_MILESTONES} milestones, in order` })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_MILESTONES)
  @ValidateNested({ each: true })
  @Type(() => MilestoneDto)
  milestones!: MilestoneDto[];

  @ApiPropertyOptional({ type: [GuardrailDto], description: `up to ${MAX_GUARDRAILS} metrics that roll the plan back by themselves` })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_GUARDRAILS)
  @ValidateNested({ each: true })
  @Type(() => GuardrailDto)
  guardrails?: GuardrailDto[];

  @ReasonProperty('why (defaults to the X-Flagstream-Reason header)')
  reason?: string;
}

export class ReleasePlanListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: RELEASE_PLAN_STATUSES })
  @IsOptional()
  @IsIn(RELEASE_PLAN_STATUSES as ReleasePlanStatus[])
  status?: ReleasePlanStatus;

  @KeyFilterProperty('environment')
  environment?: string;

  @KeyFilterProperty('flag')
  flag?: string;
}
