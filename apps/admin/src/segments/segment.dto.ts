import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsInt, IsObject, IsOptional, IsString, Matches, MaxLength, Min, MinLength } from 'class-validator';
import { KEY_PATTERN, type SegmentRuleV1 } from '@flagstream/protocol';
import { KEY_MESSAGE } from '../projects/project.dto';

class SegmentFields {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiPropertyOptional({ type: [String], description: 'targeting keys always in the segment' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10000)
  @IsString({ each: true })
  included?: string[];

  @ApiPropertyOptional({ type: [String], description: 'targeting keys never in the segment' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10000)
  @IsString({ each: true })
  excluded?: string[];

  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @IsObject({ each: true })
  rules?: SegmentRuleV1[];
}

export class CreateSegmentDto extends SegmentFields {
  @ApiProperty({ example: 'beta-testers' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;
}

export class UpdateSegmentDto extends SegmentFields {
  @ApiPropertyOptional({ description: 'the version being changed (or send If-Match)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}
