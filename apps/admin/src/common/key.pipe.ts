import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { BadRequestError } from '@flagstream/errors';
import { KEY_PATTERN_SOURCE, isValidKey } from '@flagstream/protocol';

/** Path parameters that are keys (project, environment, flag, segment) must be slugs. */
@Injectable()
export class KeyPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, meta: ArgumentMetadata): string {
    if (!isValidKey(value)) {
      throw new BadRequestError(`"${String(value).slice(0, 80)}" is not a valid ${meta.data ?? 'key'}`, [
        { path: meta.data ?? 'key', message: `must match ${KEY_PATTERN_SOURCE}` },
      ]);
    }
    return value;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class UuidPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, meta: ArgumentMetadata): string {
    if (typeof value !== 'string' || !UUID.test(value)) {
      throw new BadRequestError(`"${String(value).slice(0, 80)}" is not a valid ${meta.data ?? 'id'}`, [
        { path: meta.data ?? 'id', message: 'must be a UUID' },
      ]);
    }
    return value.toLowerCase();
  }
}
