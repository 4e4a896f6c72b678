import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, MaxLength, Min, MinLength } from 'class-validator';
import { KEY_PATTERN } from '@flagstream/protocol';

const KEY_MESSAGE = 'must be a slug: lowercase letters, digits, "_", "." or "-", starting with a letter or digit, at most 64 characters';

export class CreateProjectDto {
  @ApiProperty({ example: 'checkout' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `key ${KEY_MESSAGE}` })
  key!: string;

  @ApiProperty({ example: 'Checkout' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;
}

export class UpdateProjectDto {
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

  @ApiPropertyOptional({ description: 'the context attribute that names a tenant for config overrides (top-level attribute; default tenantId)', example: 'tenantId' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, { message: 'tenantAttribute must be a top-level context attribute name: a letter or _, then letters, digits, _ or -, at most 64 characters' })
  tenantAttribute?: string;

  @ApiPropertyOptional({ description: 'the version being changed (or send If-Match)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export { KEY_MESSAGE };
