import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { addressKey, compileConfigItem, toWireLayer, type StoredLayer } from '@flagstream/config';
import { BadRequestError, NotFoundError, ValidationError, WouldBreakValuesError, joinPath, type ErrorDetail } from '@flagstream/errors';
import { isValidConfigKey, isValidKey, type ClauseV1 } from '@flagstream/protocol';
import { chainOf } from '@flagstream/persistence';
import { Writer } from '../auth/current.decorator';
import { type EnvironmentChanges, type ProjectConfigScope, type WriteContext } from '@flagstream/changes';
import { Requires } from '../auth/requires.decorator';
import { ChangeService } from '../changes/change.service';
import { API } from '../common/api-path';
import { KeyPipe } from '../common/key.pipe';
import { EffectiveQuery, ExportQuery, ImportDto } from './config.dto';
import { TENANT_PATTERN } from './config.pipes';
import { ConfigService } from './config.service';

/** One item of an export document: the environment's own layers. */
interface ExportedItem {
  value?: unknown;
  tenants?: Record<string, unknown>;
  rules?: Array<{ id: string; clauses: ClauseV1[]; value: unknown }>;
}

@ApiTags('configs')
@ApiBearerAuth()
@Controller(`${API}/projects/:project/environments/:env/configs`)
export class EnvironmentConfigController {
  constructor(
    private readonly configs: ConfigService,
    private readonly changes: ChangeService,
  ) {}

  @Get()
  @Requires('viewer')
  @ApiOperation({ summary: 'Effective configuration of an environment (for a tenant), now or at a past time' })
  async effective(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Query() q: EffectiveQuery) {
    if (q.tenant !== undefined && !TENANT_PATTERN.test(q.tenant)) throw new BadRequestError('not a valid tenant', [{ path: 'tenant', message: 'must be 1 to 256 characters without control characters' }]);
    const r = this.configs.read;
    const scope = await this.configs.scope(r, p);
    mustEnvironment(scope, env);
    const at = q.at === undefined ? undefined : new Date(q.at);
    if (at && at.getTime() > Date.now() + 1000) throw new BadRequestError('at must not be in the future', [{ path: 'at', message: 'in the future' }]);
    const chain = chainOf(env, scope.nodes);
    const items = at ? await r.configs.itemsCreatedBy(scope.project.id, at) : await r.configs.listAllItems(scope.project.id);
    const configs: Record<string, { value: unknown; version: number; source: { scope: string; environment?: string; tenant?: string } }> = {};
    for (const item of items) {
      const state = at ? await this.configs.stateAt(r, item, { at }) : await this.configs.stateOf(r, scope, item);
      if (!state.definition) continue;
      const resolution = compileConfigItem({ merge: state.definition.merge, layers: state.layers.map(toWireLayer) }).resolve({ chain, tenant: q.tenant ?? null });
      if (!resolution.found || !resolution.source) continue;
      const s = resolution.source;
      configs[item.key] = {
        value: resolution.value,
        version: state.version,
        source: { scope: s.scope, ...(s.environment !== undefined ? { environment: s.environment } : {}), ...(s.tenant !== undefined ? { tenant: s.tenant } : {}) },
      };
    }
    return { environment: env, chain, tenant: q.tenant ?? null, at: at?.toISOString() ?? null, configs };
  }

  @Get('export')
  @Requires('viewer')
  @ApiOperation({ summary: "Export the environment's own layers (values, tenant overrides, targeted rules) as JSON or YAML" })
  async export(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Query() q: ExportQuery, @Res({ passthrough: true }) res: Response) {
    const r = this.configs.read;
    const scope = await this.configs.scope(r, p);
    mustEnvironment(scope, env);
    const configs: Record<string, ExportedItem> = {};
    for (const item of await r.configs.listAllItems(scope.project.id)) {
      const state = await this.configs.stateOf(r, scope, item);
      const out: ExportedItem = {};
      for (const l of state.layers.filter((x) => x.environment === env)) {
        if (l.scope === 'environment') out.value = l.value;
        else if (l.scope === 'tenant') (out.tenants ??= {})[l.tenant!] = l.value;
        else if (l.scope === 'targeted') (out.rules ??= []).push({ id: l.ruleId!, clauses: l.clauses ?? [], value: l.value });
      }
      configs[item.key] = out;
    }
    const document = { project: scope.project.key, environment: env, configs };
    if (q.format === 'yaml') {
      res.setHeader('Content-Type', 'application/yaml; charset=utf-8');
      return toYaml(document);
    }
    return document;
  }

  @Post('import')
  @Requires('editor')
  @ApiOperation({
    summary: "Import an exported document: for each listed item, the environment's value, tenant overrides and rules become exactly those of the document; all validated, all or nothing",
  })
  async import(@Param('project', KeyPipe) p: string, @Param('env', KeyPipe) env: string, @Body() dto: ImportDto, @Writer() w: WriteContext) {
    const document = parseDocument(dto);
    return this.changes.write(w, async (tx) => {
      const scope = await this.configs.scope(tx, p);
      mustEnvironment(scope, env);
      if (document.environment !== undefined && document.environment !== env) {
        throw new BadRequestError(`the document is for environment "${String(document.environment)}", not "${env}"`, [{ path: 'environment', message: `must be "${env}" or absent` }]);
      }
      const imported: Array<{ key: string; version: number; changed: boolean }> = [];
      const environments: EnvironmentChanges[] = [];
      const details: ErrorDetail[] = [];
      let wouldBreak = false;
      for (const [key, entry] of Object.entries(document.configs)) {
        const prefix = `configs[${JSON.stringify(key)}]`;
        try {
          const item = await tx.configs.findItem(scope.project.id, key, true);
          if (!item || item.deleted) throw new ValidationError('no such config item', [{ message: `config item "${key}" does not exist in project "${scope.project.key}"; create it (with its schema) first` }]);
          const state = await this.configs.stateOf(tx, scope, item);
          const mine: StoredLayer[] = [];
          if (entry.value !== undefined) mine.push({ scope: 'environment', environment: env, value: entry.value, version: 0 });
          for (const [tenant, value] of Object.entries(entry.tenants ?? {})) mine.push({ scope: 'tenant', environment: env, tenant, value, version: 0 });
          (entry.rules ?? []).forEach((rule, i) => mine.push({ scope: 'targeted', environment: env, ruleId: rule.id, clauses: rule.clauses, order: i, value: rule.value, version: 0 }));
          const others = state.layers.filter((l) => l.environment !== env);
          const commit = await this.configs.commit(tx, w, scope, key, item, { definition: state.definition, layers: [...others, ...mine] }, {
            action: 'imported',
            pathOf: (a) => {
              if (a.scope === 'environment') return 'value';
              if (a.scope === 'tenant') return `tenants[${JSON.stringify(a.tenant)}]`;
              if (a.scope === 'targeted') return `rules[${(entry.rules ?? []).findIndex((x) => x.id === a.ruleId)}].value`;
              return addressKey(a);
            },
          });
          imported.push({ key, version: commit.item.version, changed: commit.changed });
          environments.push(...commit.environments);
        } catch (e) {
          // Refusals of the document's content are collected; anything else (rights, conflicts) stops at once.
          if (!(e instanceof ValidationError || e instanceof WouldBreakValuesError)) throw e;
          if (e instanceof WouldBreakValuesError) wouldBreak = true;
          const own = e.details.length ? e.details : [{ message: e.message }];
          for (const d of own) details.push(d.environment !== undefined ? { ...d, message: `config item "${key}": ${d.message}` } : { ...d, path: joinPath(prefix, d.path) });
        }
      }
      if (details.length) {
        const message = 'the import was refused; nothing was stored';
        throw wouldBreak ? new WouldBreakValuesError(message, details) : new ValidationError(message, details);
      }
      const changed = imported.filter((i) => i.changed);
      const result = { environment: env, imported };
      if (!changed.length) return { result, audit: null };
      return {
        result,
        project: scope.project.key,
        environments: mergeByEnvironment(environments),
        audit: { action: 'config.imported', target: { type: 'environment', key: env }, project: scope.project.key, environment: env, after: { items: changed.map((i) => ({ key: i.key, version: i.version })) } },
      };
    });
  }
}

function mustEnvironment(scope: ProjectConfigScope, env: string): void {
  if (!scope.byKey.has(env)) throw new NotFoundError(`environment "${env}" does not exist in project "${scope.project.key}"`);
}

/** One revision per environment for the whole import. */
function mergeByEnvironment(list: EnvironmentChanges[]): EnvironmentChanges[] {
  const by = new Map<string, EnvironmentChanges>();
  for (const e of list) {
    const have = by.get(e.environment.id);
    if (have) have.changes.push(...e.changes);
    else by.set(e.environment.id, { environment: e.environment, changes: [...e.changes] });
  }
  return [...by.values()];
}

interface ImportDocument {
  environment?: unknown;
  configs: Record<string, ExportedItem>;
}

/** Parses and shape-checks an import document, naming every problem by path. */
function parseDocument(dto: ImportDto): ImportDocument {
  let doc: unknown;
  if (dto.format === 'yaml') {
    if (dto.content === undefined) throw new BadRequestError('format yaml needs the document in content (a string)', [{ path: 'content', message: 'required' }]);
    try {
      doc = parseYaml(dto.content, { maxAliasCount: 100, prettyErrors: true });
    } catch (e) {
      throw new BadRequestError('content is not valid YAML', [{ path: 'content', message: (e as Error).message.split('\n')[0]! }]);
    }
  } else {
    if (dto.document === undefined) throw new BadRequestError('format json needs the document in document (an object)', [{ path: 'document', message: 'required' }]);
    doc = dto.document;
  }
  const base = dto.format === 'yaml' ? 'content' : 'document';
  const problems: ErrorDetail[] = [];
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(doc)) throw new BadRequestError('the document must be an object', [{ path: base, message: 'must be an object with configs' }]);
  if (!isObj(doc['configs'])) throw new BadRequestError('the document has no configs', [{ path: `${base}.configs`, message: 'must be an object of config keys' }]);
  const configs = doc['configs'];
  for (const [key, entry] of Object.entries(configs)) {
    const at = `${base}.configs[${JSON.stringify(key)}]`;
    if (!isValidConfigKey(key)) problems.push({ path: at, message: 'not a valid config key' });
    if (!isObj(entry)) {
      problems.push({ path: at, message: 'must be an object with value, tenants and rules' });
      continue;
    }
    for (const k of Object.keys(entry)) if (!['value', 'tenants', 'rules'].includes(k)) problems.push({ path: `${at}.${k}`, message: 'unknown property (expected value, tenants, rules)' });
    if (entry['tenants'] !== undefined) {
      if (!isObj(entry['tenants'])) problems.push({ path: `${at}.tenants`, message: 'must be an object of tenant -> value' });
      else for (const t of Object.keys(entry['tenants'])) if (!TENANT_PATTERN.test(t)) problems.push({ path: `${at}.tenants[${JSON.stringify(t)}]`, message: 'not a valid tenant' });
    }
    if (entry['rules'] !== undefined) {
      if (!Array.isArray(entry['rules'])) problems.push({ path: `${at}.rules`, message: 'must be an array' });
      else {
        const ids = new Set<string>();
        (entry['rules'] as unknown[]).forEach((rule, i) => {
          if (!isObj(rule) || !isValidKey(rule['id']) || !Array.isArray(rule['clauses']) || !('value' in rule)) {
            problems.push({ path: `${at}.rules[${i}]`, message: 'must be {id (a slug), clauses (an array), value}' });
          } else if (ids.has(rule['id'] as string)) problems.push({ path: `${at}.rules[${i}].id`, message: 'duplicate rule id' });
          else ids.add(rule['id'] as string);
        });
      }
    }
  }
  if (problems.length) throw new ValidationError('the document is not valid', problems);
  return { environment: doc['environment'], configs: configs as Record<string, ExportedItem> };
}
