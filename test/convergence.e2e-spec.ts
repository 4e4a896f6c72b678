import { stateHash, type SnapshotMessageV1 } from '@flagstream/protocol';
import { createProject, type AdminHarness, type ApiClient } from './support/admin-harness';
import { SdkClient, type Violation } from './support/convergence-client';
import { startAdmin } from './support/admin-harness';
import { sleep, startGatewayOn, startRedisServer, type KillableGateway, type RedisProcess } from './support/convergence-harness';
import { openSse } from './support/sse-client';
import type { GatewayConfig } from '../apps/gateway/src/gateway.runtime';
import { rng } from './support/seeded-random';

/*
 * The issue's convergence requirement: hundreds of SSE clients, hundreds of admin writes, the
 * gateway killed and restarted and Redis killed and restarted in the middle; every client ends on
 * the final revision with the final state hash, and none saw a revision out of order or twice.
 *
 * This file runs its own redis-server (other test files use the shared one at the same time), and
 * the admin API (with its relay) and the gateways on it. Clients are strict SDK models
 * (support/convergence-client.ts): they reconnect with backoff, resume with Last-Event-ID, and
 * record anything the protocol rules out. CONVERGENCE_SEED replays a run's random choices (the
 * interleaving with the faults still varies). The whole file is bounded to well under 60 s.
 */

const PROJECT = 'conv';
const P = `/api/v1/projects/${PROJECT}`;
const ENVS = ['development', 'staging'] as const;
type Env = (typeof ENVS)[number];
const BOOL_FLAGS = Array.from({ length: 10 }, (_, i) => `bool-${i}`);
const STRING_FLAGS = ['banner', 'theme'];
const ARCHIVABLE = ['bool-8', 'bool-9'];
const SEGMENTS = ['beta', 'staff', 'vip'];
const GATEWAY_CONFIG: Partial<GatewayConfig> = { maxConnectionsPerKey: 100, backlogSize: 100, resyncMs: 1000, heartbeatMs: 5000 };


async function waitFor(check: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(50);
  }
}

function summarise(vs: readonly Violation[]): string[] {
  const byKind = new Map<string, Violation[]>();
  for (const v of vs) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v]);
  return [...byKind].map(([kind, list]) => `${kind}: ${list.length} (${new Set(list.map((v) => v.client)).size} clients), e.g. #${list[0].client}: ${list[0].detail}`);
}

async function must<T = Record<string, unknown>>(res: PromiseLike<{ status: number; body: unknown }>, ok: number[], what: string): Promise<T> {
  const r = await res;
  if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
}

jest.setTimeout(20_000);

describe('convergence under gateway and Redis restarts', () => {
  let redis: RedisProcess | undefined;
  let h: AdminHarness | undefined;
  let api: ApiClient;
  const gateways: Array<KillableGateway | null> = [];
  const clients: SdkClient[] = [];
  const sdkKeys = new Map<Env, string[]>();
  const seed = Number(process.env.CONVERGENCE_SEED ?? Date.now() % 1_000_000);
  const random = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];

  // What the writer knows, to send valid versions and no idempotent no-ops.
  const flagVersion = new Map<string, number>();
  const clientVisible = new Map<string, boolean>();
  const archived = new Set<string>();
  const settings = new Map<string, { on: boolean; version: number }>(); // `${flag}/${env}`
  const segmentVersion = new Map<string, number>();

  beforeAll(async () => {
    redis = await startRedisServer();
    h = await startAdmin({ redisUrl: redis.url });
    api = h.api(h.ownerToken);
    await createProject(h, PROJECT);
    for (const key of SEGMENTS) {
      const s = await must<{ version: number }>(api.post(`${P}/segments`, { key, included: [`${key}-user-0`] }), [201], `segment ${key}`);
      segmentVersion.set(key, s.version);
    }
    for (const key of [...BOOL_FLAGS, ...STRING_FLAGS]) {
      const body = BOOL_FLAGS.includes(key)
        ? { key, kind: 'boolean' }
        : { key, kind: 'string', variations: [{ key: 'a', value: `${key}-a` }, { key: 'b', value: `${key}-b` }] };
      const f = await must<{ version: number }>(api.post(`${P}/flags`, body), [201], `flag ${key}`);
      flagVersion.set(key, f.version);
      clientVisible.set(key, false);
      for (const env of ENVS) {
        const s = await must<{ on: boolean; version: number }>(api.get(`${P}/flags/${key}/environments/${env}`), [200], `settings ${key}/${env}`);
        settings.set(`${key}/${env}`, { on: s.on, version: s.version });
      }
    }
    for (const env of ENVS) {
      const keys: string[] = [];
      for (let i = 0; i < 2; i++) keys.push((await must<{ key: string }>(api.post(`${P}/environments/${env}/sdk-keys`, { kind: 'server', name: `conv-${i}` }), [201], 'sdk key')).key);
      sdkKeys.set(env, keys);
    }
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await Promise.all(gateways.splice(0).map((g) => g?.kill()));
    if (redis && !redis.running) await redis.start();
  });

  afterAll(async () => {
    await h?.close().catch(() => undefined);
    await redis?.kill();
  });

  /** One admin write chosen at random (toggle, settings PUT, segment, definition, archive/restore). */
  async function randomWrite(i: number): Promise<string> {
    const r = random();
    const env = pick(ENVS);
    const live = [...BOOL_FLAGS, ...STRING_FLAGS].filter((f) => !archived.has(f));
    if (r < 0.4) {
      const flag = pick(live);
      const s = settings.get(`${flag}/${env}`)!;
      const body = await must<{ on: boolean; version: number }>(api.post(`${P}/flags/${flag}/environments/${env}/toggle`, { on: !s.on }), [200], `toggle ${flag}/${env}`);
      settings.set(`${flag}/${env}`, { on: body.on, version: body.version });
      return 'toggle';
    }
    if (r < 0.65) {
      const flag = pick(BOOL_FLAGS.filter((f) => !archived.has(f)));
      const s = settings.get(`${flag}/${env}`)!;
      const rules =
        random() < 0.5
          ? [{ id: `r${i}`, clauses: [{ operator: 'inSegment', values: [pick(SEGMENTS)] }], serve: { variation: 'on' } }]
          : [{ id: `c${i}`, clauses: [{ attribute: 'country', operator: 'in', values: [pick(['de', 'fr', 'it'])] }], serve: { variation: pick(['on', 'off']) } }];
      const defaultServe =
        random() < 0.5 ? { variation: pick(['on', 'off']) } : { rollout: { variations: [{ variation: 'on', weight: 30000 + i }, { variation: 'off', weight: 70000 - i }] } };
      const body = await must<{ on: boolean; version: number }>(
        api.put(`${P}/flags/${flag}/environments/${env}`, { on: random() < 0.5, offVariation: 'off', prerequisites: [], rules, defaultServe, version: s.version }),
        [200],
        `settings ${flag}/${env}`,
      );
      settings.set(`${flag}/${env}`, { on: body.on, version: body.version });
      return 'settings';
    }
    if (r < 0.85) {
      const key = pick(SEGMENTS);
      const included = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, j) => `${key}-user-${i}-${j}`);
      const body = await must<{ version: number }>(api.patch(`${P}/segments/${key}`, { included, version: segmentVersion.get(key) }), [200], `segment ${key}`);
      segmentVersion.set(key, body.version);
      return 'segment';
    }
    if (r < 0.95) {
      const flag = pick(live);
      const body = await must<{ version: number }>(api.patch(`${P}/flags/${flag}`, { clientVisible: !clientVisible.get(flag), version: flagVersion.get(flag) }), [200], `patch ${flag}`);
      clientVisible.set(flag, !clientVisible.get(flag));
      flagVersion.set(flag, body.version);
      return 'definition';
    }
    const flag = pick(ARCHIVABLE);
    const kind = archived.has(flag) ? 'restore' : 'archive';
    const body = await must<{ version: number }>(api.post(`${P}/flags/${flag}/${kind}`), [200], `${kind} ${flag}`);
    if (kind === 'archive') archived.add(flag);
    else archived.delete(flag);
    flagVersion.set(flag, body.version);
    return kind;
  }

  interface Scenario {
    clients: number;
    writes: number;
    /** Gateways behind the "load balancer": each connection attempt goes to a random live one. */
    gateways: number;
    /** Faults by write index; they run while the writes go on. */
    faults: Map<number, (ctl: FaultControl) => Promise<void>>;
    /** Every 100 ms, this share of clients loses its connection (and resumes). */
    dropRate: number;
    timeoutMs: number;
  }

  interface FaultControl {
    restartGateway(index: number, downMs: number): Promise<void>;
    killGateway(index: number): Promise<void>;
    startGateway(index: number): Promise<void>;
    restartRedis(downMs: number): Promise<void>;
    log(m: string): void;
  }

  async function run(s: Scenario): Promise<void> {
    const started = Date.now();
    const timeline: string[] = [];
    const log = (m: string) => timeline.push(`${String(Date.now() - started).padStart(6)} ms  ${m}`);
    const violations: Violation[] = [];

    const ports: number[] = [];
    for (let g = 0; g < s.gateways; g++) {
      const gw = await startGatewayOn(h!, redis!.url, GATEWAY_CONFIG);
      gateways[g] = gw;
      ports.push(gw.port);
    }
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const balancer = () => {
      const up = urls.filter((_, g) => gateways[g]);
      return pick(up.length ? up : urls);
    };
    log(`seed ${seed}; redis :${redis!.port}; gateways ${ports.map((p) => `:${p}`).join(' ')}`);

    const ctl: FaultControl = {
      log,
      async killGateway(g) {
        const old = gateways[g];
        gateways[g] = null;
        log(`kill gateway ${g}`);
        await old?.kill();
      },
      async startGateway(g) {
        gateways[g] = await startGatewayOn(h!, redis!.url, GATEWAY_CONFIG, ports[g]);
        log(`gateway ${g} up again`);
      },
      async restartGateway(g, downMs) {
        await ctl.killGateway(g);
        await sleep(downMs);
        await ctl.startGateway(g);
      },
      async restartRedis(downMs) {
        log('SIGKILL redis');
        await redis!.kill();
        await sleep(downMs);
        await redis!.start();
        log('redis up again (empty)');
      },
    };

    for (let i = 0; i < s.clients; i++) {
      const env = ENVS[i % 2];
      const c = new SdkClient({ id: i, sdkKey: sdkKeys.get(env)![Math.floor(i / 2) % 2], baseUrl: balancer, onViolation: (v) => violations.push(v) });
      clients.push(c);
      c.start();
    }
    const envOf = (c: SdkClient) => ENVS[clients.indexOf(c) % 2];
    await waitFor(() => clients.every((c) => c.revision !== null), 10_000, () => `${clients.filter((c) => c.revision === null).length} clients without a snapshot`);
    log(`${s.clients} clients have their snapshot`);

    const dropper = setInterval(() => {
      for (const c of clients) if (random() < s.dropRate) c.drop();
    }, 100);
    // Faults run one after another (two Redis restarts must not overlap), alongside the writes.
    let faults: Promise<void> = Promise.resolve();
    const faultErrors: string[] = [];
    const counts: Record<string, number> = {};
    let writeMs = 0;
    let expected = new Map<Env, { revision: number; hash: string }>();
    try {
      for (let i = 0; i < s.writes; i++) {
        const fault = s.faults.get(i);
        if (fault) faults = faults.then(() => fault(ctl)).catch((e: unknown) => void faultErrors.push(String(e)));
        const t = Date.now();
        const kind = await randomWrite(i);
        writeMs += Date.now() - t;
        counts[kind] = (counts[kind] ?? 0) + 1;
        await sleep(Math.floor(random() * 6));
      }
      log(`${s.writes} writes done (${Math.round(writeMs / s.writes)} ms each): ${JSON.stringify(counts)}`);
      await faults;
      expect(faultErrors).toEqual([]);
      log('all faults over');
      clearInterval(dropper);

      // The truth: each environment's revision from the admin API, its state from Postgres.
      expected = new Map();
      for (const env of ENVS) {
        const e = await must<{ id: string; revision: number }>(api.get(`${P}/environments/${env}`), [200], `environment ${env}`);
        const state = await h!.store.snapshot((tx) => tx.snapshots.load(e.id));
        expect(state?.revision).toBe(e.revision);
        expected.set(env, { revision: e.revision, hash: stateHash(state!.flags, state!.segments) });
      }
      const converged = (c: SdkClient) => c.revision === expected.get(envOf(c))!.revision && c.hash === expected.get(envOf(c))!.hash;
      await waitFor(
        () => clients.every(converged),
        s.timeoutMs,
        () => {
          const behind = clients.filter((c) => !converged(c));
          const hubs = gateways.flatMap((g, n) => g?.runtime.hubs.all().map((hub) => `gw${n}:${hub.environment}@${hub.revision}`) ?? []);
          return `${behind.length} clients not converged, e.g. ${behind
            .slice(0, 5)
            .map((c) => `#${clients.indexOf(c)} ${envOf(c)}@${c.revision}`)
            .join(', ')}; gateway hubs ${hubs.join(', ')}`;
        },
      );
      log('all clients converged');
    } finally {
      clearInterval(dropper);
      const total = (k: keyof SdkClient['stats']) => clients.reduce((n, c) => n + c.stats[k], 0);
      console.log(
        [
          ...timeline,
          `expected: ${[...expected].map(([env, e]) => `${env}@${e.revision}`).join(', ')}`,
          `clients: connects ${total('connects')} (resuming ${total('resumes')}, refused ${total('refused')}), drops ${total('drops')}, snapshots ${total('snapshots')}, patches ${total('patches')}`,
          `violations: ${violations.length}`,
          ...summarise(violations),
        ].join('\n'),
      );
    }

    // Nobody saw a revision out of order or twice, and everyone holds exactly the fresh state.
    expect(summarise(violations)).toEqual([]);
    const wrong: string[] = [];
    for (const c of clients) {
      const want = expected.get(envOf(c))!;
      const id = `#${clients.indexOf(c)}`;
      if (c.revision !== want.revision || c.fullHash() !== want.hash) wrong.push(`${id} at ${c.revision}, hash ${c.fullHash()}`);
      // Patches were applied as revision + 1 each, after the snapshot they followed.
      let last: number | null = null;
      for (const a of c.applied) {
        if (a < 0) last = -a - 1;
        else if (last === null || a !== last + 1) wrong.push(`${id} applied ${a} after ${last}`);
        else last = a;
      }
    }
    expect(wrong).toEqual([]);
    // A client connecting now, to any gateway, is served the same final state.
    for (const url of urls) {
      for (const env of ENVS) {
        const fresh = await openSse(`${url}/sdk/v1/stream`, { Authorization: `Bearer ${sdkKeys.get(env)![0]}` });
        try {
          const snap = JSON.parse((await fresh.next((e) => e.event === 'snapshot')).data) as SnapshotMessageV1;
          expect({ revision: snap.revision, hash: snap.stateHash }).toEqual(expected.get(env));
        } finally {
          fresh.close();
        }
      }
    }
  }

  it('one gateway: killed and restarted, Redis killed and restarted, both together', async () => {
    await run({
      clients: 240,
      writes: 200,
      gateways: 1,
      dropRate: 0.01,
      timeoutMs: 8_000,
      faults: new Map<number, (ctl: FaultControl) => Promise<void>>([
        [25, (ctl) => ctl.restartGateway(0, 300)],
        [75, (ctl) => ctl.restartRedis(800)],
        [
          125,
          async (ctl) => {
            // Both at once: Redis comes back first (a gateway does not start without it).
            ctl.log('kill gateway 0 and SIGKILL redis together');
            await Promise.all([ctl.killGateway(0), redis!.kill()]);
            await sleep(500);
            await redis!.start();
            await ctl.startGateway(0);
          },
        ],
        [
          165,
          async (ctl) => {
            await ctl.restartRedis(300);
            await ctl.restartGateway(0, 0);
          },
        ],
      ]),
    });
  }, 30_000);

  it('two gateways behind a load balancer: each killed and restarted, Redis killed and restarted', async () => {
    await run({
      clients: 120,
      writes: 120,
      gateways: 2,
      dropRate: 0.02,
      timeoutMs: 5_000,
      faults: new Map<number, (ctl: FaultControl) => Promise<void>>([
        [15, (ctl) => ctl.restartGateway(0, 200)],
        [40, (ctl) => ctl.restartRedis(1200)],
        [75, (ctl) => ctl.restartGateway(1, 200)],
        [
          95,
          async (ctl) => {
            await ctl.restartRedis(600);
            await ctl.restartGateway(0, 0);
          },
        ],
      ]),
    });
  }, 15_000);

  // What the two-gateway run trips over, step by step: a client resumes at a gateway that has not
  // yet caught up with the revision the client already applied (elsewhere).
  it('a client resuming at a gateway that is behind it is never sent an older state', async () => {
    const ahead = await startGatewayOn(h!, redis!.url, { ...GATEWAY_CONFIG, resyncMs: 200 });
    gateways.push(ahead);
    const behind = await startGatewayOn(h!, redis!.url, { ...GATEWAY_CONFIG, resyncMs: 600_000 });
    gateways.push(behind);
    const key = sdkKeys.get('staging')![0];
    const auth = { Authorization: `Bearer ${key}` };
    const opened: Array<{ close(): void }> = [];
    try {
      // Both gateways serve staging at revision r.
      const onAhead = await openSse(`${ahead.url}/sdk/v1/stream`, auth);
      const onBehind = await openSse(`${behind.url}/sdk/v1/stream`, auth);
      opened.push(onAhead, onBehind);
      const r = Number((await onAhead.next()).id);
      expect(Number((await onBehind.next()).id)).toBe(r);
      // Redis goes away; a change commits (r + 1) and only reaches gateways through Postgres.
      await redis!.kill();
      const flag = BOOL_FLAGS.find((f) => !archived.has(f))!;
      const s = settings.get(`${flag}/staging`)!;
      const body = await must<{ on: boolean; version: number }>(api.post(`${P}/flags/${flag}/environments/staging/toggle`, { on: !s.on }), [200], 'toggle');
      settings.set(`${flag}/staging`, { on: body.on, version: body.version });
      // One gateway's periodic check catches up first: its client applies r + 1.
      const applied = await onAhead.next((e) => e.event === 'snapshot' && Number(e.id) === r + 1, 5000, 1);
      expect(behind.runtime.hubs.all().find((hub) => hub.environment === 'staging')?.revision).toBe(r);
      // That gateway dies; the client resumes at the other one with Last-Event-ID r + 1.
      const resumed = await openSse(`${behind.url}/sdk/v1/stream`, { ...auth, 'Last-Event-ID': String(r + 1) });
      opened.push(resumed);
      const first = await resumed.next(() => true, 1500).catch(() => null);
      // Nothing it has not seen, or the state at r + 1 or later; never the state at r again.
      if (first) expect({ event: first.event, revision: Number(first.id) }).toEqual({ event: 'snapshot', revision: Number(applied.id) });
    } finally {
      for (const c of opened) c.close();
    }
  }, 6_000);

  // After Redis restarts, ioredis resends the reader's blocked XREAD on the new connection, while the
  // reader still holds the old connection's CLIENT ID for interrupting it when a new environment is
  // watched. Normal propagation here is tens of milliseconds.
  it('a newly watched environment gets its changes promptly after a Redis restart', async () => {
    const gw = await startGatewayOn(h!, redis!.url, { ...GATEWAY_CONFIG, resyncMs: 600_000 });
    gateways.push(gw);
    const opened: Array<{ close(): void }> = [];
    try {
      const dev = await openSse(`${gw.url}/sdk/v1/stream`, { Authorization: `Bearer ${sdkKeys.get('development')![0]}` });
      opened.push(dev);
      await dev.next();
      await sleep(200);
      await redis!.kill();
      await sleep(300);
      await redis!.start();
      await waitFor(() => gw.runtime.deps.blockingRedis.status === 'ready' && gw.runtime.deps.redis.status === 'ready', 5000, () => 'gateway not reconnected');
      await sleep(300);
      const c = await openSse(`${gw.url}/sdk/v1/stream`, { Authorization: `Bearer ${sdkKeys.get('staging')![0]}` });
      opened.push(c);
      const snap = await c.next();
      const flag = BOOL_FLAGS.find((f) => !archived.has(f))!;
      const s = settings.get(`${flag}/staging`)!;
      const t = Date.now();
      const body = await must<{ on: boolean; version: number }>(api.post(`${P}/flags/${flag}/environments/staging/toggle`, { on: !s.on }), [200], 'toggle');
      settings.set(`${flag}/staging`, { on: body.on, version: body.version });
      await c.next((e) => Number(e.id) > Number(snap.id), 6000, 1);
      expect(Date.now() - t).toBeLessThan(1000);
    } finally {
      for (const c of opened) c.close();
    }
  }, 8_000);
});
