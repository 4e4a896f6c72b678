import type { ErrorDetail } from '@flagstream/errors';
import type { SigningAlgorithm, SigningKeyStatus } from '@flagstream/persistence';

/** A project's token and rotation settings (docs/secrets.md#signing-keys-and-jwks). */
export interface SigningKeySettings {
  /** The longest lifetime of a token signed with the project's keys (`sign` refuses longer ones). */
  tokenLifetimeSeconds: number;
  /** How long verifiers may cache the JWKS (its `Cache-Control: max-age`). */
  jwksCacheSeconds: number;
  /** Scheduled rotation: the current key is replaced after this many days; null: manual only. */
  rotationIntervalDays: number | null;
}

/** What a project without settings uses. */
export const SIGNING_KEY_SETTINGS_DEFAULTS: Readonly<SigningKeySettings> = { tokenLifetimeSeconds: 3600, jwksCacheSeconds: 300, rotationIntervalDays: null };

/** Bounds of each setting (the database checks them too). */
export const SIGNING_KEY_SETTING_LIMITS = {
  tokenLifetimeSeconds: { min: 60, max: 7 * 86_400 },
  jwksCacheSeconds: { min: 0, max: 86_400 },
  rotationIntervalDays: { min: 1, max: 3650 },
} as const;

const DAY_MS = 86_400_000;

/**
 * How long a key stays published after it stopped signing: a token it signed just before may live
 * `tokenLifetimeSeconds`, and a verifier may have fetched the JWKS just before the key was removed
 * and hold that copy `jwksCacheSeconds` (the minimum: lifetime plus cache time).
 */
export function overlapSeconds(s: SigningKeySettings): number {
  return s.tokenLifetimeSeconds + s.jwksCacheSeconds;
}

/** Every problem of a settings document, each with its field; empty when valid. */
export function signingKeySettingsProblems(s: SigningKeySettings): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const L = SIGNING_KEY_SETTING_LIMITS;
  const int = (path: keyof SigningKeySettings, v: unknown, lim: { min: number; max: number }) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lim.min || v > lim.max) out.push({ path, message: `must be an integer from ${lim.min} to ${lim.max}` });
  };
  int('tokenLifetimeSeconds', s.tokenLifetimeSeconds, L.tokenLifetimeSeconds);
  int('jwksCacheSeconds', s.jwksCacheSeconds, L.jwksCacheSeconds);
  if (s.rotationIntervalDays !== null) int('rotationIntervalDays', s.rotationIntervalDays, L.rotationIntervalDays);
  if (!out.length && s.rotationIntervalDays !== null && s.rotationIntervalDays * 86_400 < overlapSeconds(s)) {
    out.push({
      path: 'rotationIntervalDays',
      message: `${s.rotationIntervalDays * 86_400} s is shorter than the overlap window tokenLifetimeSeconds + jwksCacheSeconds = ${overlapSeconds(s)} s: keys would pile up in the JWKS`,
    });
  }
  return out;
}

/** What the lifecycle rules need to know of a key. */
export interface SigningKeyState {
  kid: string;
  algorithm: SigningAlgorithm;
  status: SigningKeyStatus;
  /** When it was published (generated). */
  createdAt: Date;
  activatedAt: Date | null;
  retireAfter: Date | null;
}

/** One step that is due (see `signingKeyActions`). */
export type SigningKeyAction = { type: 'generate'; algorithm: SigningAlgorithm; reason: string } | { type: 'activate'; kid: string; reason: string } | { type: 'retire'; kid: string; reason: string };

/**
 * What scheduled rotation must do now, in order. Pure: the same keys, settings and time always
 * give the same answer, so two workers judging one state agree (and the writes re-check it).
 *
 * - Retire every `previous` key whose `retireAfter` has passed (always, rotation interval or not).
 * - With a rotation interval and a current key:
 *   - no `next` yet and the current key is at least `interval - jwksCacheSeconds` old: generate a
 *     `next` (same algorithm), so every verifier's cache has it before it signs;
 *   - a `next` exists, the current key is at least `interval` old, and the `next` has been
 *     published at least `jwksCacheSeconds`: activate it.
 *
 * A project without a current key is left to its owner (nothing is activated behind their back).
 */
export function signingKeyActions(keys: readonly SigningKeyState[], settings: SigningKeySettings, now: Date): SigningKeyAction[] {
  const out: SigningKeyAction[] = [];
  const t = now.getTime();
  for (const k of keys) {
    if (k.status === 'previous' && k.retireAfter && k.retireAfter.getTime() <= t) out.push({ type: 'retire', kid: k.kid, reason: `its overlap window ended at ${k.retireAfter.toISOString()}` });
  }
  const current = keys.find((k) => k.status === 'current');
  if (settings.rotationIntervalDays === null || !current?.activatedAt) return out;
  const intervalMs = settings.rotationIntervalDays * DAY_MS;
  const cacheMs = settings.jwksCacheSeconds * 1000;
  const age = t - current.activatedAt.getTime();
  const next = keys.find((k) => k.status === 'next');
  if (!next) {
    if (age >= intervalMs - cacheMs) out.push({ type: 'generate', algorithm: current.algorithm, reason: `the current key "${current.kid}" is due for rotation at ${new Date(current.activatedAt.getTime() + intervalMs).toISOString()}` });
  } else if (age >= intervalMs && t - next.createdAt.getTime() >= cacheMs) {
    out.push({ type: 'activate', kid: next.kid, reason: `the current key "${current.kid}" reached its rotation interval of ${settings.rotationIntervalDays} days` });
  }
  return out;
}

/**
 * Why activating this `next` key now could break verification, or null when it is safe: a key
 * published less than `jwksCacheSeconds` ago may be missing from JWKS copies verifiers still hold.
 */
export function earlyActivationProblem(key: Pick<SigningKeyState, 'kid' | 'createdAt'>, settings: SigningKeySettings, now: Date): string | null {
  const ready = key.createdAt.getTime() + settings.jwksCacheSeconds * 1000;
  if (now.getTime() >= ready) return null;
  const ago = Math.max(0, Math.floor((now.getTime() - key.createdAt.getTime()) / 1000));
  return `signing key "${key.kid}" was published ${ago} s ago and verifiers may cache the JWKS for ${settings.jwksCacheSeconds} s (jwksCacheSeconds): activate it at or after ${new Date(ready).toISOString()}, or pass "force": true`;
}

/** Why retiring this `previous` key now could break verification, or null when its window has ended. */
export function earlyRetirementProblem(key: Pick<SigningKeyState, 'kid' | 'retireAfter'>, now: Date): string | null {
  if (!key.retireAfter || now.getTime() >= key.retireAfter.getTime()) return null;
  return `signing key "${key.kid}" may still verify tokens until ${key.retireAfter.toISOString()} (token lifetime plus JWKS cache time after it stopped signing): retire it then, or pass "force": true`;
}
