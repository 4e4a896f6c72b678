import { Body, Controller, HttpCode, Inject, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ConfigEvaluation } from '@flagstream/config';
import type { EvaluationResultV1 } from '@flagstream/protocol';
import { GATEWAY_RUNTIME } from '../gateway.tokens';
import type { GatewayRuntime } from '../gateway.runtime';
import type { SdkPrincipal } from '../auth/sdk-key.auth';
import type { EnvironmentHub } from '../stream/environment-hub';
import { OfrepError, OfrepExceptionFilter } from './ofrep.error';

/** OFREP (open-feature/protocol service/openapi.yaml), on this environment's live state. */
@Controller('ofrep/v1')
@UseFilters(OfrepExceptionFilter)
export class OfrepController {
  constructor(@Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime) {}

  @Post('evaluate/flags/:key')
  @HttpCode(200)
  async evaluateOne(@Req() req: Request, @Param('key') key: string, @Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    const { principal, hub } = await this.prepare(req);
    const context = contextOf(body, key);
    const result = this.evaluate(hub, principal, key, context);
    if (result.reason === 'ERROR') {
      const status = result.errorCode === 'FLAG_NOT_FOUND' ? 404 : 400;
      res.status(status);
      return failure(result);
    }
    return success(result);
  }

  @Post('evaluate/flags')
  async evaluateAll(@Req() req: Request, @Body() body: unknown, @Res() res: Response): Promise<void> {
    const { principal, hub } = await this.prepare(req);
    const context = contextOf(body);
    // A re-fetch triggered by our event stream names the revision it heard of: a gateway that has
    // not applied it yet catches up first, so it never answers 304 with stale values.
    const heard = typeof req.query.flagConfigEtag === 'string' && /^\d{1,15}$/.test(req.query.flagConfigEtag) ? Number(req.query.flagConfigEtag) : null;
    if (heard !== null) await this.runtime.hubs.catchUp(hub, heard);
    const digest = createHash('sha256').update(hub.environmentId).update(principal.kind).update(canonicalize(context) ?? '{}').digest('base64url').slice(0, 16);
    const etag = `"${hub.revision}-${digest}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (matchesIfNoneMatch(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return;
    }
    const results = hub.evaluator().evaluateAll(context, { clientVisibleOnly: principal.kind === 'client' });
    const flagKeys = new Set(results.map((r) => r.key));
    for (const config of hub.configs().values()) {
      // A flag of the same key wins; config items are object flags with their effective value.
      if (!flagKeys.has(config.item.key) && (principal.kind === 'server' || config.item.clientVisible)) results.push(configResult(config.evaluate(context)));
    }
    const flags = results.map((r) => (r.reason === 'ERROR' ? failure(r) : success(r)));
    const key = encodeURIComponent(keyOfRequest(req));
    res.status(200).json({
      flags,
      metadata: { environment: hub.environment, revision: hub.revision },
      eventStreams: [{ type: 'sse', url: `${this.runtime.deps.config.publicUrl}/ofrep/v1/events?key=${key}`, inactivityDelaySec: 120 }],
    });
  }

  private async prepare(req: Request): Promise<{ principal: SdkPrincipal; hub: EnvironmentHub }> {
    const principal = await this.runtime.auth.authenticate(sourcesOf(req)).catch((e: unknown) => {
      throw OfrepError.fromAuth(e);
    });
    const retryAfter = this.runtime.rateLimit(principal.keyId);
    if (retryAfter !== null) throw new OfrepError(429, { errorCode: 'GENERAL', errorDetails: 'rate limit exceeded' }, { 'Retry-After': String(retryAfter) });
    return { principal, hub: await this.runtime.hubs.acquire(principal.environmentId) };
  }

  private evaluate(hub: EnvironmentHub, principal: SdkPrincipal, key: string, context: Record<string, unknown>): EvaluationResultV1 {
    const flag = hub.flag(key);
    if (!flag || (principal.kind === 'client' && !flag.clientVisible)) {
      // Not a flag (for this key): a config item of the same key is served as an object flag.
      const config = hub.configs().get(key);
      if (config && (principal.kind === 'server' || config.item.clientVisible)) return configResult(config.evaluate(context));
      return { key, value: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `flag "${key}" was not found` };
    }
    return hub.evaluator().evaluate(key, context);
  }
}

/** RFC 9110 13.1.2: a list of entity tags, compared weakly (a `W/` prefix is ignored); `*` matches. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}

function sourcesOf(req: Request) {
  const apiKey = req.headers['x-api-key'];
  return { authorization: req.headers.authorization, apiKey: typeof apiKey === 'string' ? apiKey : undefined, query: req.query.key };
}

function keyOfRequest(req: Request): string {
  const auth = req.headers.authorization?.trim() ?? '';
  if (auth) return auth.replace(/^Bearer\s+/i, '');
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string') return apiKey;
  return typeof req.query.key === 'string' ? req.query.key : '';
}

/** The request's `context`: a JSON object, required by OFREP (400 INVALID_CONTEXT otherwise). */
function contextOf(body: unknown, key?: string): Record<string, unknown> {
  const context = (body as { context?: unknown } | null)?.context;
  if (context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new OfrepError(400, { ...(key ? { key } : {}), errorCode: 'INVALID_CONTEXT', errorDetails: 'the request body must be {"context": {...}} with a JSON object' });
  }
  return context as Record<string, unknown>;
}

function success(r: EvaluationResultV1 & { metadata?: Record<string, string | number | boolean> }) {
  return { key: r.key, value: r.value, reason: r.reason, ...(r.variation !== undefined ? { variant: r.variation } : {}), metadata: r.metadata ?? flagMetadata(r) };
}

/** OFREP's flat metadata of a flag result: the rule, and the experiment marker (OpenFeature hooks read it as `flagMetadata`). */
export function flagMetadata(r: EvaluationResultV1): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (r.ruleId) metadata['ruleId'] = r.ruleId;
  if (r.experiment !== undefined) metadata['experiment'] = r.experiment;
  if (r.experimentUnit !== undefined) metadata['experimentUnit'] = r.experimentUnit;
  return metadata;
}

/** A config item's effective value as an OFREP object flag; metadata says where it came from. */
function configResult(e: ConfigEvaluation): EvaluationResultV1 & { metadata: Record<string, string | number | boolean> } {
  const metadata: Record<string, string | number | boolean> = { config: true, configVersion: e.version };
  if (e.source) {
    metadata['source'] = e.source.scope;
    if (e.source.environment !== undefined) metadata['sourceEnvironment'] = e.source.environment;
    if (e.source.tenant !== undefined) metadata['sourceTenant'] = e.source.tenant;
    if (e.source.ruleId !== undefined) metadata['ruleId'] = e.source.ruleId;
  }
  if (!e.found) return { key: e.key, value: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `config item "${e.key}" has no value in this environment`, metadata };
  return { key: e.key, value: e.value, reason: e.reason, metadata };
}

function failure(r: EvaluationResultV1) {
  return { key: r.key, errorCode: r.errorCode ?? 'GENERAL', errorDetails: r.errorMessage ?? 'evaluation failed' };
}
