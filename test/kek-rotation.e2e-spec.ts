import { ChangeWriter, KekMaintenance, KeyringMismatchError, Secrets } from '@flagstream/changes';
import { DecryptionError, generateKeyring, LocalKekProvider } from '@flagstream/crypto';
import { Store } from '@flagstream/persistence';
import { secretCipher } from '@flagstream/server';
import { createProject, createToken, eventually, startAdmin, TEST_AUDIT_KEY, type AdminHarness, type ApiClient } from './support/admin-harness';
import { startWorker, type WorkerHarness } from './support/worker-harness';

const P = '/api/v1/projects/shop';
const S = `${P}/environments/staging/secrets`;
const VALUES: Record<string, string> = { 'payments/stripe/api-key': 'sk_live_kekRotation_1', 'db/password': 'pg-kek-rotation-2', 'api/token': 'tok-kek-rotation-3' };

/**
 * The KEK lifecycle end to end on real Postgres: rotate (a new current version), rewrap by the
 * worker (payloads unchanged, values intact), raise the minimum, retire the old version; each step
 * checked at start and audited, and a keyring that cannot open what is stored refused.
 */
describe('KEK rotation: rotate, rewrap, raise the minimum, retire', () => {
  let h: AdminHarness;
  let owner: ApiClient;
  let store: Store;
  let worker: WorkerHarness | undefined;
  const v1 = () => h.keyring;
  let v2Key: string;

  /** Keyring text with versions from `entries` (version -> base64 key). */
  const ring = (entries: Array<[number, string]>) => entries.map(([v, k]) => `${v}:${k}`).join(',');
  const keyOf = (text: string, version: number) => text.split(',').find((e) => e.startsWith(`${version}:`))!.slice(String(version).length + 1);
  const maintenance = (keyring: string, min = 1) => {
    const provider = LocalKekProvider.fromEnvValue(keyring);
    const cipher = secretCipher(provider, min, { countUses: (v, n) => store.read.secrets.countKekUses(v, n) });
    return { provider, cipher, kek: new KekMaintenance(store, new ChangeWriter(store, { kick: () => undefined }), cipher, provider) };
  };
  const sealedRows = () => h.db.query<{ path: string; version: number; kek_version: number; ciphertext: Buffer }>(
    'SELECT s.path, v.version, v.kek_version, v.ciphertext FROM secret_versions v JOIN secrets s ON s.id = v.secret_id ORDER BY s.path, v.version',
  );
  const auditActions = async () => (await h.db.query<{ action: string }>(`SELECT action FROM audit_events WHERE target_type = 'kek' ORDER BY seq`)).map((r) => r.action);

  beforeAll(async () => {
    h = await startAdmin();
    owner = h.api(h.ownerToken);
    await createProject(h, 'shop');
    for (const [path, value] of Object.entries(VALUES)) expect((await owner.put(`${S}/${path}`, { value })).status).toBe(200);
    expect((await owner.post(`${P}/signing-keys/rotate`, { algorithm: 'EdDSA' })).status).toBe(200);
    // A project CA and a certificate issued from it: two more private keys under the KEK.
    expect((await owner.post(`${P}/certificate-authority`, { name: 'Shop CA', lifetimeDays: 365 })).status).toBe(201);
    expect((await owner.post(`${P}/environments/staging/certificates`, { name: 'tls/api', commonName: 'api.shop.test', dnsNames: ['api.shop.test'], lifetimeSeconds: 86_400 })).status).toBe(201);
    store = await Store.connect({ databaseUrl: h.db.url, auditKey: TEST_AUDIT_KEY, poolSize: 3 });
    v2Key = keyOf(generateKeyring(1), 1);
    // The keyring the admin harness started with, as it was recorded at the first check.
    await maintenance(v1()).kek.checkKeyring();
  }, 30_000);

  afterAll(async () => {
    await worker?.close();
    await store?.close();
    await h?.close();
  }, 30_000);

  it('reports the keyring to owners only: versions, ciphertexts per version, nothing pending', async () => {
    const status = await owner.get('/api/v1/kek');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ provider: 'local', currentVersion: 1, versions: [1], minDecryptVersion: 1, sealed: [{ kekVersion: 1, count: 6 }], pendingRewrap: 0 });
    expect(JSON.stringify(status.body)).not.toContain(keyOf(v1(), 1));
    expect((await h.api(await createToken(h, 'editor')).get('/api/v1/kek')).status).toBe(403);
    expect((await h.api(await createToken(h, 'owner', 'shop')).get('/api/v1/kek')).status).toBe(403);
  });

  it('rotates: the worker rewraps every ciphertext under the new version, payloads unchanged, values intact', async () => {
    const before = await sealedRows();
    const rotated = ring([
      [1, keyOf(v1(), 1)],
      [2, v2Key],
    ]);
    expect(await maintenance(rotated).kek.checkKeyring()).toEqual({ changes: ['kek.rotated'] });
    worker = await startWorker(h, { rotationIntervalMs: 200 }, { keyring: rotated });
    await eventually(async () => ((await store.read.keks.countByVersion()).every((s) => s.kekVersion === 2) ? true : undefined), 10_000);
    expect(await store.read.keks.countByVersion()).toEqual([{ kekVersion: 2, count: 6 }]);
    // The certificate keys moved too (the CA's and the issued version's).
    expect(await h.db.query('SELECT kek_version FROM certificate_authorities UNION ALL SELECT kek_version FROM certificate_versions')).toEqual([{ kek_version: 2 }, { kek_version: 2 }]);
    const after = await sealedRows();
    for (const [i, row] of after.entries()) {
      expect(row.kek_version).toBe(2);
      // Only the wrapped data key changed: the payload (nonce, ciphertext, tag) is byte for byte the same.
      const tail = (b: Buffer) => b.subarray(b.length - (12 + b.readUInt32BE(10) + 16));
      expect(tail(row.ciphertext).equals(tail(before[i].ciphertext))).toBe(true);
      expect(row.ciphertext.equals(before[i].ciphertext)).toBe(false);
    }
    const { cipher } = maintenance(rotated);
    const secrets = new Secrets(store, new ChangeWriter(store, { kick: () => undefined }), cipher);
    for (const [path, value] of Object.entries(VALUES)) expect(await secrets.readInternal('shop', 'staging', path)).toBe(value);
    expect(await auditActions()).toEqual(['kek.rotated', 'kek.rewrapped']);
    await worker.close();
    worker = undefined;

    // Raise the minimum: old ciphertexts (kept from before) are refused, the rewrapped ones open.
    const strict = maintenance(rotated, 2);
    expect(await strict.kek.checkKeyring()).toEqual({ changes: ['kek.min_version_raised'] });
    const identity = { purpose: 'secret', project: '', environment: '', path: '', version: 1 };
    const old = before.find((r) => r.path === 'api/token')!;
    const [ids] = await h.db.query<{ project_id: string; environment_id: string }>(`SELECT project_id, environment_id FROM secrets WHERE path = 'api/token'`);
    const oldId = { ...identity, project: ids.project_id, environment: ids.environment_id, path: 'api/token' };
    await expect(strict.cipher.decrypt(old.ciphertext, oldId)).rejects.toMatchObject({ reason: 'kek-version-retired' });
    await expect(strict.cipher.decrypt(old.ciphertext, oldId)).rejects.toBeInstanceOf(DecryptionError);
    expect((await strict.cipher.decrypt((await sealedRows()).find((r) => r.path === 'api/token')!.ciphertext, oldId)).toString()).toBe(VALUES['api/token']);

    // Retire version 1: the keyring without it still opens everything stored.
    const retired = ring([[2, v2Key]]);
    expect(await maintenance(retired, 2).kek.checkKeyring()).toEqual({ changes: ['kek.retired'] });
    expect(await auditActions()).toEqual(['kek.rotated', 'kek.rewrapped', 'kek.min_version_raised', 'kek.retired']);
  }, 30_000);

  it('refuses a keyring that cannot open what is stored, or a minimum that would strand it', async () => {
    await expect(maintenance(v1()).kek.checkKeyring()).rejects.toThrow(KeyringMismatchError);
    await expect(maintenance(v1()).kek.checkKeyring()).rejects.toThrow(/^the keyring has no key version 2 \(6 ciphertexts\)/);
    await expect(maintenance(ring([[2, v2Key]]), 3).kek.checkKeyring()).rejects.toThrow('FLAGSTREAM_KEK_MIN_VERSION=3 would refuse 6 stored ciphertexts still under version 2: let the rewrap finish first');
  });
});
