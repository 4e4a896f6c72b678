import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';
import { KEY_PATTERN } from '@flagstream/protocol';
import { KEY_MESSAGE } from '../projects/project.dto';

export class CreateEnvironmentDto {
  @ApiProperty({ example: 'production' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;

  @ApiProperty({ example: 'Production' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ description: 'key of the environment this one inherits from', example: 'prod' })
  @IsOptional()
  @IsString()
  @Matches(KEY_PATTERN, { message: `parent ${KEY_MESSAGE}` })
  parent?: string;

  @ApiPropertyOptional({ description: 'changes here need the owner role' })
  @IsOptional()
  @IsBoolean()
  protected?: boolean;
}

export class UpdateEnvironmentDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ nullable: true, description: 'parent key, or null to detach' })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsString()
  @Matches(KEY_PATTERN, { message: `parent ${KEY_MESSAGE}` })
  parent?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  protected?: boolean;

  @ApiPropertyOptional({ description: 'the version being changed (or send If-Match)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}
