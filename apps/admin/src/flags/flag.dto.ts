import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsObject, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { FLAG_KINDS, KEY_PATTERN, type FlagKind, type PrerequisiteV1, type RuleV1, type ServeV1, type VariationV1 } from '@flagstream/protocol';
import { ClientVisibleProperty, DescriptionProperty, TagsProperty, VersionProperty } from '../common/dto.properties';
import { PageQuery } from '../common/page.query';
import { KEY_MESSAGE } from '../projects/project.dto';

export class CreateFlagDto {
  @ApiProperty({ example: 'new-checkout' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;

  @ApiPropertyOptional({ description: 'defaults to the key' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @ApiProperty({ enum: FLAG_KINDS })
  @IsIn(FLAG_KINDS as FlagKind[])
  kind!: FlagKind;

  @ApiPropertyOptional({ description: 'defaults to on=true / off=false for boolean flags', type: 'array', items: { type: 'object' } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsObject({ each: true })
  variations?: VariationV1[];

  @DescriptionProperty()
  description?: string;

  @TagsProperty()
  tags?: string[];

  @ClientVisibleProperty()
  clientVisible?: boolean;
}

export class UpdateFlagDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsObject({ each: true })
  variations?: VariationV1[];

  @DescriptionProperty()
  description?: string;

  @TagsProperty()
  tags?: string[];

  @ClientVisibleProperty()
  clientVisible?: boolean;

  @VersionProperty()
  version?: number;
}

/** The whole of a flag's settings in one environment; rules etc. are checked by the targeting engine. */
export class FlagSettingsDto {
  @ApiProperty() @IsBoolean() on!: boolean;

  @ApiProperty() @IsString() @MaxLength(64) offVariation!: string;

  @ApiProperty({ type: 'array', items: { type: 'object' } })
  @IsArray()
  @ArrayMaxSize(50)
  prerequisites!: PrerequisiteV1[];

  @ApiProperty({ type: 'array', items: { type: 'object' } })
  @IsArray()
  @ArrayMaxSize(1000)
  rules!: RuleV1[];

  @ApiProperty({ type: 'object', additionalProperties: true, description: '{ "variation": "on" } or { "rollout": { "variations": [...] } }' })
  @IsObject()
  defaultServe!: ServeV1;

  @ApiPropertyOptional({ description: 'bucketing salt; defaults to the current one' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  salt?: string;

  @VersionProperty()
  version?: number;
}

export class ToggleDto {
  @ApiProperty({ description: 'false is the kill switch: serve the off variation to everyone' })
  @IsBoolean()
  on!: boolean;
}

export class FlagListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['true', 'false'] })
  @IsOptional()
  @IsIn(['true', 'false'])
  archived?: 'true' | 'false';

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(KEY_PATTERN, { message: `tag ${KEY_MESSAGE}` })
  tag?: string;
}
