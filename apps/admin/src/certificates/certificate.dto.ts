import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { MAX_ALERT_THRESHOLDS, MAX_CHAIN_PEM_CHARS, MAX_PRIVATE_KEY_PEM_CHARS } from '@flagstream/changes';
import { ISSUED_KEY_TYPES, type IssuedKeyType } from '@flagstream/persistence';

/** `PUT …/certificates/{name}`: a chain and its key. No examples: key material never appears in the OpenAPI document. */
export class UploadCertificateDto {
  @ApiProperty({ description: `the PEM certificate chain, leaf first, each certificate followed by its issuer (at most ${MAX_CHAIN_PEM_CHARS} characters)` })
  @IsString()
  @MaxLength(MAX_CHAIN_PEM_CHARS)
  certificate!: string;

  @ApiProperty({ description: 'the PEM private key of the leaf (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted); encrypted at rest, never returned, logged or audited' })
  @IsString()
  @MaxLength(MAX_PRIVATE_KEY_PEM_CHARS)
  privateKey!: string;

  @ApiPropertyOptional({ description: 'store it even though a certificate of the chain has expired', default: false })
  @IsOptional()
  @IsBoolean()
  allowExpired?: boolean;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'publish every version as JSON to this secret path of the environment (null: stop publishing; omitted: keep the current setting)' })
  @IsOptional()
  @ValidateIf((o: UploadCertificateDto) => o.secretPath !== null)
  @IsString()
  secretPath?: string | null;
}

/** `POST …/certificates`: a certificate issued by the project CA, its key generated on the server. */
export class IssueCertificateDto {
  @ApiProperty({ description: 'the certificate name, a path like "tls/api"', example: 'tls/api' })
  @IsString()
  name!: string;

  @ApiProperty({ description: 'the subject common name (CN)', example: 'api.shop.internal' })
  @IsString()
  commonName!: string;

  @ApiPropertyOptional({ type: [String], description: 'DNS subject alternative names (a leading "*." is a wildcard)', example: ['api.shop.internal'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  dnsNames?: string[];

  @ApiPropertyOptional({ type: [String], description: 'IP address subject alternative names (IPv4 or IPv6)', example: ['10.0.0.7'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  ipAddresses?: string[];

  @ApiProperty({ description: 'validity from now, in seconds (60 to 10 years, and not past the CA); renewed at two thirds of it', example: 7776000 })
  @IsInt()
  lifetimeSeconds!: number;

  @ApiPropertyOptional({ enum: ISSUED_KEY_TYPES, default: 'ECDSA-P256' })
  @IsOptional()
  @IsIn(ISSUED_KEY_TYPES)
  keyType?: IssuedKeyType;

  @ApiPropertyOptional({ description: 'publish every version (and each renewal) as JSON to this secret path of the environment', example: 'tls/api' })
  @IsOptional()
  @IsString()
  secretPath?: string;
}

/** `POST /projects/{project}/certificate-authority`. */
export class CreateAuthorityDto {
  @ApiProperty({ description: 'the CA certificate is "CN=<name>"', example: 'Shop internal CA' })
  @IsString()
  name!: string;

  @ApiPropertyOptional({ description: 'validity in days (1 to 10950)', default: 3650 })
  @IsOptional()
  @IsInt()
  lifetimeDays?: number;

  @ApiPropertyOptional({ description: 'required when the project has a CA: the new one issues from now on; certificates keep renewing under the CA that issued them', default: false })
  @IsOptional()
  @IsBoolean()
  replace?: boolean;
}

/** `PUT …/certificate-settings`. */
export class CertificateSettingsDto {
  @ApiProperty({ type: [Number], description: `days before expiry at which an alert goes out, once per threshold and version (at most ${MAX_ALERT_THRESHOLDS}; 0 = when it expires)`, example: [30, 7, 1] })
  @IsArray()
  @ArrayMaxSize(MAX_ALERT_THRESHOLDS)
  alertDaysBefore!: number[];
}
