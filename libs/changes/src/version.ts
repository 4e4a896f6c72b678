import { BadRequestError, PreconditionRequiredError, VersionConflictError } from '@flagstream/errors';

/**
 * The version a write expects: `If-Match: "7"` (or `7`) or a `version` field in the body. One of
 * them is required; a stale one is a 409, never a silent overwrite.
 */
export function expectedVersion(ifMatch: string | undefined, bodyVersion: number | undefined): number {
  let header: number | undefined;
  if (ifMatch !== undefined) {
    const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(ifMatch);
    if (!m) throw new BadRequestError('If-Match must be a version such as "3"', [{ path: 'If-Match', message: 'not a version' }]);
    header = Number(m[1]);
  }
  if (header !== undefined && bodyVersion !== undefined && header !== bodyVersion) {
    throw new BadRequestError('If-Match and version disagree', [{ path: 'version', message: `If-Match says ${header}` }]);
  }
  const v = header ?? bodyVersion;
  if (v === undefined) {
    throw new PreconditionRequiredError('send the version you are changing, as If-Match or a version field, so concurrent edits are not lost', [
      { path: 'version', message: 'required' },
    ]);
  }
  return v;
}

export function assertVersion(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new VersionConflictError(expected, actual, what);
}
