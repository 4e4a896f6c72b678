import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { BadRequestError } from '@flagstream/errors';
import { isValidConfigKey } from '@flagstream/protocol';

/** Config keys are dotted paths (`payments.limits.maxTransfer`), not slugs. */
@Injectable()
export class ConfigKeyPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, meta: ArgumentMetadata): string {
    if (!isValidConfigKey(value)) {
      throw new BadRequestError(`"${String(value).slice(0, 80)}" is not a valid config key`, [
        { path: meta.data ?? 'key', message: 'must be a dotted path of segments that start with a letter (letters, digits, _ and -), at most 200 characters' },
      ]);
    }
    return value;
  }
}

/** Tenants are whatever the tenant attribute holds: 1 to 256 printable characters. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
export const TENANT_PATTERN = /^[^\u0000-\u001f\u007f]{1,256}$/u;

@Injectable()
export class TenantPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, meta: ArgumentMetadata): string {
    if (typeof value !== 'string' || !TENANT_PATTERN.test(value)) {
      throw new BadRequestError('not a valid tenant', [{ path: meta.data ?? 'tenant', message: 'must be 1 to 256 characters without control characters' }]);
    }
    return value;
  }
}
