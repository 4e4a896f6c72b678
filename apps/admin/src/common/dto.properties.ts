import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsOptional, IsString, Matches, MaxLength, Min, MinLength } from 'class-validator';
import { KEY_PATTERN } from '@flagstream/protocol';
import { KEY_MESSAGE } from '../projects/project.dto';

/** Optional free text describing a resource (at most 2,000 characters). */
export const DescriptionProperty = () => applyDecorators(ApiPropertyOptional(), IsOptional(), IsString(), MaxLength(2000));

/** Optional tags: up to 50 slugs. */
export const TagsProperty = () =>
  applyDecorators(
    ApiPropertyOptional({ type: [String] }),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(50),
    IsString({ each: true }),
    Matches(KEY_PATTERN, { each: true, message: `each tag ${KEY_MESSAGE}` }),
  );

/** Optional: whether client-side (browser) SDK keys receive the resource. */
export const ClientVisibleProperty = () => applyDecorators(ApiPropertyOptional({ description: 'served to client-side (browser) SDK keys' }), IsOptional(), IsBoolean());

/** The version a write expects (optimistic concurrency); `If-Match` may carry it instead. */
export const VersionProperty = (description = 'the version being changed (or send If-Match)') =>
  applyDecorators(ApiPropertyOptional({ description }), IsOptional(), IsInt(), Min(1));

/** Optional `reason` of a write: 1 to 500 characters without control characters (it goes into the audit record). */
export const ReasonProperty = (description: string) =>
  applyDecorators(
    ApiPropertyOptional({ description }),
    IsOptional(),
    IsString(),
    MinLength(1),
    MaxLength(500),
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    Matches(/^[^\u0000-\u001f\u007f]*$/u, { message: 'reason must not contain control characters' }),
  );

/** An optional list filter naming a key (`environment`, `flag`…): a slug. */
export const KeyFilterProperty = (name: string, description?: string) =>
  applyDecorators(ApiPropertyOptional(description ? { description } : {}), IsOptional(), IsString(), Matches(KEY_PATTERN, { message: `${name} ${KEY_MESSAGE}` }));
