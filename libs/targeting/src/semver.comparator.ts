// Type only: importing the class as a value would pull all of semver into browser bundles.
import type { SemVer } from 'semver';
import parseSemver from 'semver/functions/parse';

/** A compiled semver operand. */
export interface VersionOperand {
  readonly version: SemVer;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly hasPrerelease: boolean;
}

/** Parses a version the way `semver.parse` does (strict mode); null when it is not valid semver. */
export function parseVersionOperand(value: string): VersionOperand | null {
  const version = parseSemver(value);
  if (!version) return null;
  return {
    version,
    major: version.major,
    minor: version.minor,
    patch: version.patch,
    hasPrerelease: version.prerelease.length > 0,
  };
}

const DIGIT_0 = 48;
const DIGIT_9 = 57;
const DOT = 46;
const MAX_FAST_DIGITS = 15;

// A one-entry cache of the last plain version parsed: bulk evaluation compares one context's
// version with many operands. Synchronous use only, so module state is safe.
let lastText: string | null = null;
let lastPlain = false;
let lastMajor = 0;
let lastMinor = 0;
let lastPatch = 0;

/** Parses `MAJOR.MINOR.PATCH` (decimal, no leading zeros, at most 15 digits each) into the cache. */
function parsePlain(value: string): boolean {
  let part = 0;
  let current = 0;
  let digits = 0;
  let leadingZero = false;
  let major = 0;
  let minor = 0;
  if (value.length === 0 || value.length > 50) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (leadingZero || digits === MAX_FAST_DIGITS) return false;
      if (digits === 0 && c === DIGIT_0) leadingZero = true;
      current = current * 10 + (c - DIGIT_0);
      digits++;
    } else if (c === DOT && digits > 0 && part < 2) {
      if (part === 0) major = current;
      else minor = current;
      part++;
      current = 0;
      digits = 0;
      leadingZero = false;
    } else {
      return false;
    }
  }
  if (part !== 2 || digits === 0) return false;
  lastMajor = major;
  lastMinor = minor;
  lastPatch = current;
  return true;
}

/**
 * Compares the version string `value` with `operand`: -1, 0 or 1, or NaN when `value` is not valid
 * semver. Plain `MAJOR.MINOR.PATCH` strings are parsed without allocation (and the last one is
 * remembered); anything else (prerelease, build metadata, a `v` prefix) goes through the semver
 * library, so results always equal `semver.compare(value, operand)`.
 */
export function compareVersion(value: string, operand: VersionOperand): number {
  if (value !== lastText) {
    lastPlain = parsePlain(value);
    lastText = value;
  }
  if (lastPlain) {
    if (lastMajor !== operand.major) return lastMajor < operand.major ? -1 : 1;
    if (lastMinor !== operand.minor) return lastMinor < operand.minor ? -1 : 1;
    if (lastPatch !== operand.patch) return lastPatch < operand.patch ? -1 : 1;
    // Same core: a release sorts after any prerelease of it.
    return operand.hasPrerelease ? 1 : 0;
  }
  const parsed = parseSemver(value);
  return parsed ? parsed.compare(operand.version) : Number.NaN;
}

export type { SemVer };
