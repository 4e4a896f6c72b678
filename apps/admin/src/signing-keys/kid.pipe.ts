import { Injectable, type PipeTransform } from '@nestjs/common';
import { BadRequestError } from '@flagstream/errors';

/** An RFC 7638 thumbprint: 43 base64url characters (SHA-256). */
const KID = /^[A-Za-z0-9_-]{43}$/;

/** The `{kid}` path parameter: malformed ids are a 400 naming the parameter, not a lookup. */
@Injectable()
export class KidPipe implements PipeTransform<unknown, string> {
  transform(value: unknown): string {
    if (typeof value !== 'string' || !KID.test(value)) {
      throw new BadRequestError(`"${String(value).slice(0, 80)}" is not a valid kid`, [{ path: 'kid', message: 'must be a JWK thumbprint: 43 base64url characters' }]);
    }
    return value;
  }
}
