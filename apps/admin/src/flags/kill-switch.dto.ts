import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsOptional, IsString, Matches, ValidateIf } from 'class-validator';
import { KEY_PATTERN } from '@flagstream/protocol';
import { KEY_MESSAGE } from '../projects/project.dto';

export class KillSwitchDto {
  @ApiPropertyOptional({ type: [String], description: 'the flags to turn off (or give a tag)', example: ['new-checkout'] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(500)
  @IsString({ each: true })
  @Matches(KEY_PATTERN, { each: true, message: `each flag ${KEY_MESSAGE}` })
  flags?: string[];

  @ApiPropertyOptional({ description: 'turn off every flag carrying this tag (or give flags)', example: 'payments' })
  @IsOptional()
  @IsString()
  @Matches(KEY_PATTERN, { message: `tag ${KEY_MESSAGE}` })
  tag?: string;

  @ApiPropertyOptional({
    description: 'environment keys, or "all" for every environment of the project',
    oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string', enum: ['all'] }],
    example: ['production'],
  })
  @ValidateIf((_, v) => v !== 'all')
  @IsArray({ message: 'environments must be a list of environment keys or "all"' })
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Matches(KEY_PATTERN, { each: true, message: `each environment ${KEY_MESSAGE}` })
  environments!: string[] | 'all';
}
