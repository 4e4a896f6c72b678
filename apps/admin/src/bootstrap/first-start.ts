import type { Logger } from 'pino';
import type { Store } from '@flagstream/persistence';
import { SYSTEM, type WriteContext } from '@flagstream/changes';
import { adoptSecret, issueSecret } from '../auth/secret-token';
import { ChangeService } from '../changes/change.service';
import { FlagService } from '../flags/flag.service';

export interface FirstStartResult {
  /** Set only when this start created the owner token; `generated` when we made it up. */
  ownerToken?: { token: string; generated: boolean };
  demo?: { project: string; serverKey: string; clientKey: string };
}

const SYSTEM_WRITE: WriteContext = { principal: SYSTEM, requestId: null, reason: 'first start' };

/**
 * On an empty database: the owner token (FLAGSTREAM_ADMIN_TOKEN, else generated), and, when
 * asked, a demo project. Safe to run on every start and from several processes at once.
 */
export async function firstStart(store: Store, options: { adminToken?: string; demo: boolean }, logger: Logger): Promise<FirstStartResult> {
  const relay = { kick: () => undefined };
  const changes = new ChangeService(store, relay);
  const result: FirstStartResult = {};

  result.ownerToken = await changes.write(SYSTEM_WRITE, async (tx) => {
    if ((await tx.credentials.countTokens()) > 0) return { result: undefined, audit: null };
    const issued = options.adminToken ? adoptSecret(options.adminToken) : issueSecret('admin');
    const row = await tx.credentials.insertToken({ name: 'owner (first start)', role: 'owner', projectId: null, prefix: issued.prefix, tokenHash: issued.hash, createdBy: null });
    return {
      result: { token: issued.secret, generated: !options.adminToken },
      audit: { action: 'token.created', target: { type: 'token', key: row.id }, after: { name: row.name, role: row.role, prefix: row.prefix } },
    };
  });

  if (options.demo) {
    result.demo = await seedDemo(store, changes);
    if (result.demo) logger.info({ project: result.demo.project }, 'seeded the demo project');
  }
  return result;
}

/** Seeds the demo project when there is no project at all (checked under the write lock). */
async function seedDemo(store: Store, changes: ChangeService): Promise<FirstStartResult['demo']> {
  const project = 'demo';
  const envs = await changes.write(SYSTEM_WRITE, async (tx) => {
    if ((await tx.projects.count()) > 0) return { result: null, audit: null };
    const p = await tx.projects.insert({ key: project, name: 'Demo', description: 'Created on first start; delete or keep as you like.' });
    const dev = await tx.environments.insert({ projectId: p.id, key: 'development', name: 'Development', parentId: null, protected: false });
    const staging = await tx.environments.insert({ projectId: p.id, key: 'staging', name: 'Staging', parentId: null, protected: false });
    const prod = await tx.environments.insert({ projectId: p.id, key: 'production', name: 'Production', parentId: null, protected: true });
    return { result: { dev, staging, prod }, audit: { action: 'project.created', target: { type: 'project', key: project }, project, after: { key: project, environments: ['development', 'staging', 'production'] } } };
  });

  if (!envs) return undefined;
  const flags = new FlagService(store, changes);
  await flags.create(SYSTEM_WRITE, project, { key: 'new-checkout', name: 'New checkout flow', kind: 'boolean', clientVisible: true, tags: ['checkout'] });
  await flags.create(SYSTEM_WRITE, project, {
    key: 'banner-text',
    name: 'Home page banner',
    kind: 'string',
    clientVisible: true,
    variations: [
      { key: 'default', value: 'Welcome!' },
      { key: 'sale', value: 'Winter sale: 20% off' },
    ],
  });
  await flags.create(SYSTEM_WRITE, project, {
    key: 'max-cart-items',
    kind: 'number',
    variations: [
      { key: 'standard', value: 50 },
      { key: 'generous', value: 200 },
    ],
  });
  // On in development for everyone; a 20% rollout in staging; off in production.
  await flags.putSettings(SYSTEM_WRITE, project, 'new-checkout', 'development', 1, {
    on: true,
    offVariation: 'off',
    prerequisites: [],
    rules: [],
    defaultServe: { variation: 'on' },
  });
  await flags.putSettings(SYSTEM_WRITE, project, 'new-checkout', 'staging', 1, {
    on: true,
    offVariation: 'off',
    prerequisites: [],
    rules: [],
    defaultServe: { rollout: { variations: [{ variation: 'on', weight: 20000 }, { variation: 'off', weight: 80000 }] } },
  });

  return changes.write(SYSTEM_WRITE, async (tx) => {
    const server = issueSecret('server');
    const client = issueSecret('client');
    await tx.credentials.insertSdkKey({ environmentId: envs.dev.id, kind: 'server', name: 'demo server key', prefix: server.prefix, keyHash: server.hash, createdBy: null });
    await tx.credentials.insertSdkKey({ environmentId: envs.dev.id, kind: 'client', name: 'demo client key', prefix: client.prefix, keyHash: client.hash, createdBy: null });
    return {
      result: { project, serverKey: server.secret, clientKey: client.secret },
      audit: { action: 'sdk_key.created', target: { type: 'sdk_key', key: 'demo' }, project, environment: 'development', after: { prefixes: [server.prefix, client.prefix] } },
    };
  });
}
