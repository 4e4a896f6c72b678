import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsDefined, IsIn, IsInt, IsISO8601, IsObject, IsOptional, IsString, Matches, MaxLength, Min, ValidateNested } from 'class-validator';
import { CONFIG_MERGE_STRATEGIES, KEY_PATTERN, type ClauseV1, type ConfigMergeStrategy } from '@flagstream/protocol';
import { ClientVisibleProperty, DescriptionProperty, TagsProperty } from '../common/dto.properties';
import { KEY_MESSAGE } from '../projects/project.dto';

const CONFIG_KEY_SOURCE = '^[A-Za-z][A-Za-z0-9_-]*(\\.[A-Za-z][A-Za-z0-9_-]*){0,15}$';

export class CreateConfigDto {
  @ApiProperty({ example: 'payments.limits', description: `dotted key: ${CONFIG_KEY_SOURCE}, at most 200 characters` })
  @IsString()
  @MaxLength(200)
  @Matches(new RegExp(CONFIG_KEY_SOURCE), { message: 'key must be a dotted path of segments that start with a letter (letters, digits, _ and -), e.g. payments.limits.maxTransfer' })
  key!: string;

  @DescriptionProperty()
  description?: string;

  @ApiProperty({ description: 'JSON Schema, draft 2020-12', example: { type: 'object', properties: { maxTransfer: { type: 'integer', minimum: 1 } }, required: ['maxTransfer'] } })
  @IsDefined()
  schema!: unknown;

  @ApiPropertyOptional({ enum: CONFIG_MERGE_STRATEGIES, default: 'replace', description: 'replace: the strongest layer wins whole; merge: layers merge as JSON Merge Patches (RFC 7396)' })
  @IsOptional()
  @IsIn(CONFIG_MERGE_STRATEGIES as ConfigMergeStrategy[])
  merge?: ConfigMergeStrategy;

  @ClientVisibleProperty()
  clientVisible?: boolean;

  @TagsProperty()
  tags?: string[];

  @ApiProperty({ description: 'the project default (weakest layer); must satisfy the schema', example: { maxTransfer: 1000 } })
  @IsDefined()
  default!: unknown;
}

export class UpdateConfigDto {
  @DescriptionProperty()
  description?: string;

  @ApiPropertyOptional({ description: 'a new schema: every existing layer and effective value is validated against it' })
  @IsOptional()
  @IsDefined()
  schema?: unknown;

  @ApiPropertyOptional({ enum: CONFIG_MERGE_STRATEGIES })
  @IsOptional()
  @IsIn(CONFIG_MERGE_STRATEGIES as ConfigMergeStrategy[])
  merge?: ConfigMergeStrategy;

  @ClientVisibleProperty()
  clientVisible?: boolean;

  @TagsProperty()
  tags?: string[];

  @ApiPropertyOptional({ description: 'the item version being changed (or send If-Match); optional' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export class SetValueDto {
  @ApiProperty({ description: 'any JSON value that satisfies the schema', example: { maxTransfer: 5000 } })
  @IsDefined()
  value!: unknown;

  @ApiPropertyOptional({ description: 'the item version being changed (or send If-Match); optional' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export class TargetedRuleDto {
  @ApiProperty({ example: 'beta-users' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `id ${KEY_MESSAGE}` })
  id!: string;

  @ApiProperty({ type: 'array', items: { type: 'object' }, example: [{ attribute: 'plan', operator: 'in', values: ['beta'] }] })
  @IsArray()
  clauses!: ClauseV1[];

  @ApiProperty({ description: 'served when every clause holds' })
  @IsDefined()
  value!: unknown;
}

export class SetRulesDto {
  @ApiProperty({ type: [TargetedRuleDto], description: 'the environment\'s targeted overrides, in order (first match wins); [] removes them' })
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => TargetedRuleDto)
  rules!: TargetedRuleDto[];

  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export class RollbackDto {
  @ApiProperty({ description: 'the version whose state to restore (recorded as a new version)' })
  @IsInt()
  @Min(1)
  to!: number;

  @ApiPropertyOptional({ description: 'the item version being changed (or send If-Match); optional' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export class VersionOnlyDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export class ExplainQuery {
  @ApiProperty({ example: 'prod-eu' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @ApiPropertyOptional({ example: 'acme' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  tenant?: string;

  @ApiPropertyOptional({ description: 'evaluation context as base64url JSON, for targeted overrides' })
  @IsOptional()
  @IsString()
  @MaxLength(12000)
  context?: string;
}

export class DiffQuery {
  @ApiProperty()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  from!: number;

  @ApiProperty()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  to!: number;
}

export class EffectiveQuery {
  @ApiPropertyOptional({ example: 'acme' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  tenant?: string;

  @ApiPropertyOptional({ description: 'a past time (ISO 8601): the configuration as it was then' })
  @IsOptional()
  @IsISO8601({ strict: true })
  at?: string;
}

export class ExportQuery {
  @ApiPropertyOptional({ enum: ['json', 'yaml'], default: 'json' })
  @IsOptional()
  @IsIn(['json', 'yaml'])
  format?: 'json' | 'yaml';
}

export class ImportDto {
  @ApiProperty({ enum: ['json', 'yaml'] })
  @IsIn(['json', 'yaml'])
  format!: 'json' | 'yaml';

  @ApiPropertyOptional({ description: 'the document as exported, for format yaml (a string)' })
  @IsOptional()
  @IsString()
  @MaxLength(1_000_000)
  content?: string;

  @ApiPropertyOptional({ description: 'the document as exported, for format json (an object)' })
  @IsOptional()
  @IsObject()
  document?: Record<string, unknown>;
}
