import { createHash } from 'node:crypto';
import { ForbiddenError, UnauthenticatedError } from '@flagstream/errors';
import type { SdkKeyKind, Store } from '@flagstream/persistence';

/** Who is connecting: one SDK key of one environment. */
export interface SdkPrincipal {
  keyId: string;
  kind: SdkKeyKind;
  environmentId: string;
  environment: string;
  project: string;
}

/** Where a request may carry its SDK key, in order of preference. */
export interface KeySources {
  authorization?: string;
  apiKey?: string;
  query?: unknown;
}

const CACHE_MS = 1000;

/**
 * Resolves SDK keys (hashed, like the admin stores them). Positive answers are cached for one
 * second, so a revoked key stops opening connections within a second; the connection registry
 * closes the ones already open.
 */
export class SdkKeyAuth {
  private readonly cache = new Map<string, { principal: SdkPrincipal; until: number }>();

  constructor(private readonly store: Store) {}

  static keyFrom(sources: KeySources): string | undefined {
    const auth = sources.authorization?.trim();
    if (auth) return /^Bearer\s+/i.test(auth) ? auth.replace(/^Bearer\s+/i, '').trim() : auth;
    if (sources.apiKey?.trim()) return sources.apiKey.trim();
    return typeof sources.query === 'string' && sources.query ? sources.query : undefined;
  }

  async authenticate(sources: KeySources, allowed: readonly SdkKeyKind[] = ['server', 'client']): Promise<SdkPrincipal> {
    const key = SdkKeyAuth.keyFrom(sources);
    // One message for every failure: a caller learns nothing about which keys exist.
    if (!key || key.length > 200) throw new UnauthenticatedError('missing or invalid SDK key');
    const hash = createHash('sha256').update(key, 'utf8').digest('hex');
    const now = Date.now();
    let principal = this.cache.get(hash);
    if (!principal || principal.until < now) {
      const found = await this.store.read.credentials.findActiveSdkKey(hash);
      if (!found) {
        this.cache.delete(hash);
        throw new UnauthenticatedError('missing or invalid SDK key');
      }
      principal = {
        principal: { keyId: found.key.id, kind: found.key.kind, environmentId: found.environment.id, environment: found.environment.key, project: found.project.key },
        until: now + CACHE_MS,
      };
      this.cache.set(hash, principal);
      if (this.cache.size > 10_000) this.cache.delete(this.cache.keys().next().value as string);
    }
    if (!allowed.includes(principal.principal.kind)) {
      throw new ForbiddenError(
        principal.principal.kind === 'client'
          ? 'a client SDK key cannot read rules: use /sdk/v1/stream/evaluated or OFREP'
          : `this endpoint takes ${allowed.join(' or ')} SDK keys`,
      );
    }
    return principal.principal;
  }

  forget(keyIds: readonly string[]): void {
    const gone = new Set(keyIds);
    for (const [hash, entry] of this.cache) if (gone.has(entry.principal.keyId)) this.cache.delete(hash);
  }
}
