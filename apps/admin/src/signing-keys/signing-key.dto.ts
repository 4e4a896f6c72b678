import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsOptional } from 'class-validator';
import { SIGNING_KEY_SETTING_LIMITS } from '@flagstream/changes';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '@flagstream/persistence';

const L = SIGNING_KEY_SETTING_LIMITS;

/** `POST …/signing-keys`: a new key pair, published as `next`. */
export class GenerateSigningKeyDto {
  @ApiProperty({ enum: SIGNING_ALGORITHMS, description: 'EdDSA (Ed25519) or ES256 (ECDSA P-256, SHA-256)', example: 'EdDSA' })
  @IsIn(SIGNING_ALGORITHMS)
  algorithm!: SigningAlgorithm;
}

/** `POST …/signing-keys/rotate`: a new key that signs at once. */
export class RotateSigningKeyDto {
  @ApiPropertyOptional({ enum: SIGNING_ALGORITHMS, description: 'default: the algorithm of the current key (EdDSA when there is none)' })
  @IsOptional()
  @IsIn(SIGNING_ALGORITHMS)
  algorithm?: SigningAlgorithm;
}

/** The body of `…/{kid}/activate` and `…/{kid}/retire` (optional). */
export class SigningKeyForceDto {
  @ApiPropertyOptional({
    description: 'activate: even though the key was published less than jwksCacheSeconds ago; retire: even though tokens it signed may still be valid (a compromised key)',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

/** `PUT …/signing-key-settings`: every setting (an omitted rotation interval means manual rotation). */
export class SigningKeySettingsDto {
  @ApiProperty({ description: `the longest lifetime of a signed token (${L.tokenLifetimeSeconds.min} to ${L.tokenLifetimeSeconds.max} s)`, example: 3600 })
  @IsInt()
  tokenLifetimeSeconds!: number;

  @ApiProperty({ description: `how long verifiers may cache the JWKS, its Cache-Control max-age (${L.jwksCacheSeconds.min} to ${L.jwksCacheSeconds.max} s)`, example: 300 })
  @IsInt()
  jwksCacheSeconds!: number;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    description: `scheduled rotation every N days (${L.rotationIntervalDays.min} to ${L.rotationIntervalDays.max}; at least tokenLifetimeSeconds + jwksCacheSeconds); null or omitted: manual only`,
    example: 30,
  })
  @IsOptional()
  @IsInt()
  rotationIntervalDays?: number | null;
}
