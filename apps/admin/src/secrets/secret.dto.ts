import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsIn, IsInt, IsObject, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, MinLength, ValidateIf, ValidateNested } from 'class-validator';

/** A new version's value. No example: values never appear in the OpenAPI document. */
export class PutSecretDto {
  @ApiProperty({ description: 'the value (1 byte to 64 KiB of UTF-8); never echoed, logged or audited' })
  @IsString()
  @MinLength(1)
  value!: string;
}

export class SecretListQuery {
  @ApiPropertyOptional({ description: 'only paths equal to it or under it (a path, without a trailing "/")', example: 'payments' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  prefix?: string;
}

/** The body of `…/secrets/{path}:reveal` (optional), `:rollback` and `:destroy`. */
export class SecretVersionDto {
  @ApiPropertyOptional({ description: 'the version (reveal: default the current one)', minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  version?: number;
}

export class SecretSubjectDto {
  @ApiProperty({ enum: ['role', 'sdk-key'] })
  @IsIn(['role', 'sdk-key'])
  type!: 'role' | 'sdk-key';

  @ApiPropertyOptional({ enum: ['viewer', 'editor', 'owner'], description: 'with type "role": tokens with this role or above' })
  @ValidateIf((o: SecretSubjectDto) => o.type === 'role')
  @IsIn(['viewer', 'editor', 'owner'])
  role?: 'viewer' | 'editor' | 'owner';

  @ApiPropertyOptional({ description: 'with type "sdk-key": the id of a server SDK key of the project' })
  @ValidateIf((o: SecretSubjectDto) => o.type === 'sdk-key')
  @IsUUID()
  id?: string;
}

export class CreateSecretPolicyDto {
  @ApiProperty({ type: SecretSubjectDto })
  @IsDefined()
  @ValidateNested()
  @Type(() => SecretSubjectDto)
  subject!: SecretSubjectDto;

  @ApiProperty({ type: [String], description: 'path patterns: segments, "*" (one segment), "**" (any number)', example: ['payments/**'] })
  @IsDefined()
  paths!: string[];

  @ApiProperty({ oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string', enum: ['*'] }], description: 'environment keys, or "*" for all', example: ['production'] })
  @IsDefined()
  environments!: string[] | '*';

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(500)
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  @Matches(/^[^\u0000-\u001f\u007f]*$/u, { message: 'description must not contain control characters' })
  description?: string;
}

/** A rotation policy; the domain checks the rotator's settings. */
export class RotationPolicyDto {
  @ApiProperty({ description: 'seconds between rotations (at least 60)', example: 2592000 })
  @IsInt()
  @Min(60)
  intervalSeconds!: number;

  @ApiPropertyOptional({ description: 'send a "rotation due" alert this long before (0: none)', default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  notifyBeforeSeconds?: number;

  @ApiPropertyOptional({ description: 'how long the replaced value is still served beside the new one', default: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  graceSeconds?: number;

  @ApiProperty({ enum: ['random-token', 'webhook'] })
  @IsIn(['random-token', 'webhook'])
  rotator!: 'random-token' | 'webhook';

  @ApiPropertyOptional({
    description: 'random-token: {bytes (16..256, 32), encoding ("base64url" | "hex"), prefix}; webhook: {url, signingSecretPath}',
    example: { bytes: 32, encoding: 'base64url', prefix: 'tok_' },
  })
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;
}
