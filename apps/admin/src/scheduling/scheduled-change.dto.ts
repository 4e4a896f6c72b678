import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { plainToInstance, Type } from 'class-transformer';
import { IsBoolean, IsDefined, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, MaxLength, Min, ValidateNested, validateSync } from 'class-validator';
import type { ScheduledChangeSpec } from '@flagstream/changes';
import { ValidationError } from '@flagstream/errors';
import { SCHEDULED_CHANGE_STATUSES, type ScheduledChangeStatus } from '@flagstream/persistence';
import { isValidConfigKey, KEY_PATTERN } from '@flagstream/protocol';
import { KeyFilterProperty, ReasonProperty } from '../common/dto.properties';
import { PageQuery } from '../common/page.query';
import { flattenValidationErrors } from '../common/validation.pipe';
import { TENANT_PATTERN } from '../configs/config.pipes';
import { FlagSettingsDto } from '../flags/flag.dto';
import { KEY_MESSAGE } from '../projects/project.dto';

/** A timestamp with a time zone (`2026-03-01T09:00:00Z`, `2026-03-01T10:00:00+01:00`). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const TIMESTAMP_MESSAGE = 'runAt must be an ISO 8601 timestamp with a time zone, e.g. 2026-03-01T09:00:00Z';
const CHANGE_TYPES = ['flag.settings', 'flag.toggle', 'config.set', 'config.remove'] as const;
const CONFIG_KEY_MESSAGE = 'config must be a dotted path of segments that start with a letter (letters, digits, _ and -), at most 200 characters';

export class CreateScheduleDto {
  @ApiProperty({ example: 'production' })
  @IsString()
  @Matches(KEY_PATTERN, { message: `environment ${KEY_MESSAGE}` })
  environment!: string;

  @ApiProperty({ example: '2026-03-01T09:00:00Z', description: 'when to apply it: in the future, at most a year ahead' })
  @IsString()
  @Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE })
  runAt!: string;

  @ApiProperty({
    description:
      'the write to make, one of: {"type":"flag.settings","flag":k,"settings":{…the PUT body of the flag settings; "version" applies it only if still at that version}}, {"type":"flag.toggle","flag":k,"on":true}, {"type":"config.set","config":k,"tenant"?:t,"value":v}, {"type":"config.remove","config":k,"tenant"?:t}',
    type: 'object',
    additionalProperties: true,
    example: { type: 'flag.toggle', flag: 'new-checkout', on: true },
  })
  @IsObject()
  change!: Record<string, unknown>;

  @ReasonProperty('why (defaults to the X-Flagstream-Reason header); recorded with the change when it applies')
  reason?: string;
}

export class RescheduleDto {
  @ApiProperty({ example: '2026-03-02T09:00:00Z' })
  @IsString()
  @Matches(TIMESTAMP, { message: TIMESTAMP_MESSAGE })
  runAt!: string;

  @ApiPropertyOptional({ description: 'the version being changed (or send If-Match)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export class CancelScheduleDto {
  @ApiPropertyOptional({ description: 'cancel only if still at this version (or send If-Match); optional' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;
}

export class ScheduleListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: SCHEDULED_CHANGE_STATUSES })
  @IsOptional()
  @IsIn(SCHEDULED_CHANGE_STATUSES as ScheduledChangeStatus[])
  status?: ScheduledChangeStatus;

  @KeyFilterProperty('environment')
  environment?: string;

  @KeyFilterProperty('flag', 'changes of this flag')
  flag?: string;

  @ApiPropertyOptional({ description: 'changes of this config item' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  config?: string;
}

class FlagSettingsChange {
  @IsIn(['flag.settings']) type!: 'flag.settings';
  @IsString() @Matches(KEY_PATTERN, { message: `flag ${KEY_MESSAGE}` }) flag!: string;
  @IsObject() @ValidateNested() @Type(() => FlagSettingsDto) settings!: FlagSettingsDto;
}

class FlagToggleChange {
  @IsIn(['flag.toggle']) type!: 'flag.toggle';
  @IsString() @Matches(KEY_PATTERN, { message: `flag ${KEY_MESSAGE}` }) flag!: string;
  @IsBoolean() on!: boolean;
}

class ConfigSetChange {
  @IsIn(['config.set']) type!: 'config.set';
  @IsString() @MaxLength(200) config!: string;
  @IsOptional() @IsString() @Matches(TENANT_PATTERN, { message: 'tenant must be 1 to 256 characters without control characters' }) tenant?: string;
  @IsDefined() value!: unknown;
}

class ConfigRemoveChange {
  @IsIn(['config.remove']) type!: 'config.remove';
  @IsString() @MaxLength(200) config!: string;
  @IsOptional() @IsString() @Matches(TENANT_PATTERN, { message: 'tenant must be 1 to 256 characters without control characters' }) tenant?: string;
}

const CHANGE_CLASSES: Record<(typeof CHANGE_TYPES)[number], new () => object> = {
  'flag.settings': FlagSettingsChange,
  'flag.toggle': FlagToggleChange,
  'config.set': ConfigSetChange,
  'config.remove': ConfigRemoveChange,
};

/** Checks the shape of `change` like the manual write's DTO would, with every problem's path under `change`. */
export function parseChange(change: Record<string, unknown>): ScheduledChangeSpec {
  const type = change['type'];
  if (typeof type !== 'string' || !(CHANGE_TYPES as readonly string[]).includes(type)) {
    throw new ValidationError('request is not valid', [{ path: 'change.type', message: `must be one of ${CHANGE_TYPES.join(', ')}` }]);
  }
  const instance = plainToInstance(CHANGE_CLASSES[type as (typeof CHANGE_TYPES)[number]], change, { enableImplicitConversion: false });
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, validationError: { target: false, value: false } });
  const details = flattenValidationErrors(errors, 'change');
  if ((type === 'config.set' || type === 'config.remove') && typeof change['config'] === 'string' && !isValidConfigKey(change['config'])) {
    details.push({ path: 'change.config', message: CONFIG_KEY_MESSAGE });
  }
  if (details.length) throw new ValidationError('request is not valid', details);
  // A plain copy: stored as JSON, compared as JSON.
  return JSON.parse(JSON.stringify(instance)) as ScheduledChangeSpec;
}
