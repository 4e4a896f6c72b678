import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Matches, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import { MAX_BAKE_SECONDS, MAX_MILESTONES } from '@flagstream/changes';
import { RELEASE_PLAN_STATUSES, type ReleasePlanStatus } from '@flagstream/persistence';
import { KEY_PATTERN } from '@flagstream/protocol';
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

  @ApiPropertyOptional({ description: 'why (defaults to the X-Flagstream-Reason header)' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  @Matches(/^[^\u0000-\u001f\u007f]*$/u, { message: 'reason must not contain control characters' })
  reason?: string;
}

export class ReleasePlanListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: RELEASE_PLAN_STATUSES })
  @IsOptional()
  @IsIn(RELEASE_PLAN_STATUSES as ReleasePlanStatus[])
  status?: ReleasePlanStatus;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(KEY_PATTERN, { message: `flag ${KEY_MESSAGE}` })
  flag?: string;
}
