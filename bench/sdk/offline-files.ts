/*
 * The offline-start files of each SDK, holding the same 1,000 bench flags (bench/evaluation's W4
 * set: static, 50% rollout and 3-rule flags in turn), in each SDK's own documented format.
 *
 * The per-peer translations mirror bench/evaluation/engines/*.engine.ts (same semantics; those
 * modules keep their translators private, so they are restated here in file form).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateHash, type SnapshotMessageV1 } from '@flagstream/protocol';
import { flagstreamSnapshot } from '../evaluation/engines/flagstream.engine';
import { W3_COUNTRIES, W3_VARIATIONS, type BenchFlag } from '../evaluation/workload.model';
import { UNLEASH_APP, type OfflineFiles } from './first-evaluation.model';

function unleashFeature(flag: BenchFlag): Record<string, unknown> {
  const base = { name: flag.key, enabled: true, type: 'release', project: 'default', stale: false, impressionData: false, variants: [] };
  const variant = (name: string) => ({ name, weight: 1000, stickiness: 'default', weightType: 'variable' });
  const strategy = (name: string, constraints: unknown[], parameters: Record<string, string>, variants: unknown[]) => ({ name, constraints, parameters, variants });
  switch (flag.shape) {
    case 'static':
      return { ...base, strategies: [strategy('default', [], {}, [])] };
    case 'half':
      return { ...base, strategies: [strategy('flexibleRollout', [], { rollout: '50', stickiness: 'userId', groupId: flag.key }, [])] };
    case 'rules':
      return {
        ...base,
        strategies: [
          strategy(
            'default',
            [
              { contextName: 'country', operator: 'IN', values: W3_COUNTRIES },
              { contextName: 'plan', operator: 'IN', values: ['enterprise'] },
            ],
            {},
            [variant('enterprise')],
          ),
          strategy('default', [{ contextName: 'email', operator: 'STR_ENDS_WITH', values: ['@example.com'] }], {}, [variant('example')]),
          strategy('default', [{ contextName: 'appVersion', operator: 'SEMVER_GT', value: '2.3.0' }], {}, [variant('modern')]),
          strategy('default', [{ contextName: 'appVersion', operator: 'SEMVER_EQ', value: '2.3.0' }], {}, [variant('modern')]),
          strategy('flexibleRollout', [], { rollout: '10', stickiness: 'userId', groupId: flag.key }, [variant('rollout')]),
        ],
      };
  }
}

function launchDarklyFlag(flag: BenchFlag): Record<string, unknown> {
  const base = { key: flag.key, version: 1, on: true, targets: [], contextTargets: [], prerequisites: [], salt: flag.key, trackEvents: false };
  const clause = (attribute: string, op: string, values: unknown[]) => ({ attribute, op, values, negate: false, contextKind: 'user' });
  switch (flag.shape) {
    case 'static':
      return { ...base, variations: [true, false], offVariation: 1, fallthrough: { variation: 0 }, rules: [] };
    case 'half':
      return {
        ...base,
        variations: [true, false],
        offVariation: 1,
        fallthrough: { rollout: { variations: [{ variation: 0, weight: 50_000 }, { variation: 1, weight: 50_000 }] } },
        rules: [],
      };
    case 'rules':
      return {
        ...base,
        variations: [...W3_VARIATIONS],
        offVariation: 4,
        fallthrough: { rollout: { variations: [{ variation: 3, weight: 10_000 }, { variation: 4, weight: 90_000 }] } },
        rules: [
          { id: 'enterprise', variation: 0, clauses: [clause('country', 'in', W3_COUNTRIES), clause('plan', 'in', ['enterprise'])] },
          { id: 'example', variation: 1, clauses: [clause('email', 'endsWith', ['@example.com'])] },
          { id: 'modern-gt', variation: 2, clauses: [clause('appVersion', 'semVerGreaterThan', ['2.3.0'])] },
          { id: 'modern-eq', variation: 2, clauses: [clause('appVersion', 'semVerEqual', ['2.3.0'])] },
        ],
      };
  }
}

function growthbookFeature(flag: BenchFlag): Record<string, unknown> {
  switch (flag.shape) {
    case 'static':
      return { defaultValue: true };
    case 'half':
      return { defaultValue: false, rules: [{ force: true, coverage: 0.5, hashAttribute: 'id' }] };
    case 'rules':
      return {
        defaultValue: 'control',
        rules: [
          { condition: { country: { $in: W3_COUNTRIES }, plan: 'enterprise' }, force: 'enterprise' },
          { condition: { email: { $regex: '@example\\.com$' } }, force: 'example' },
          { condition: { appVersion: { $vgte: '2.3.0' } }, force: 'modern' },
          { force: 'rollout', coverage: 0.1, hashAttribute: 'id' },
        ],
      };
  }
}

function flagdFlag(flag: BenchFlag): Record<string, unknown> {
  switch (flag.shape) {
    case 'static':
      return { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' };
    case 'half':
      return { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off', targeting: { fractional: [['on', 50], ['off', 50]] } };
    case 'rules':
      return {
        state: 'ENABLED',
        variants: Object.fromEntries(W3_VARIATIONS.map((v) => [v, v])),
        defaultVariant: 'control',
        targeting: {
          if: [
            { and: [{ in: [{ var: 'country' }, W3_COUNTRIES] }, { '==': [{ var: 'plan' }, 'enterprise'] }] },
            'enterprise',
            { ends_with: [{ var: 'email' }, '@example.com'] },
            'example',
            { sem_ver: [{ var: 'appVersion' }, '>=', '2.3.0'] },
            'modern',
            { fractional: [['rollout', 10], ['control', 90]] },
          ],
        },
      };
  }
}

/** The Flagstream snapshot message of the bench flags, as the gateway streams it and the cache stores it. */
export function flagstreamSnapshotMessage(flags: BenchFlag[]): SnapshotMessageV1 {
  const s = flagstreamSnapshot(flags);
  return { v: 1, environment: s.environment, revision: s.revision, stateHash: stateHash(s.flags, []), flags: s.flags, segments: [] };
}

/** Writes every engine's offline file for `flags` into `dir`. */
export function writeOfflineFiles(dir: string, flags: BenchFlag[]): OfflineFiles {
  const files: OfflineFiles = {
    flagstream: join(dir, 'flagstream-snapshot.json'),
    unleashDir: dir,
    launchdarkly: join(dir, 'launchdarkly-flags.json'),
    growthbook: join(dir, 'growthbook-payload.json'),
    flagd: join(dir, 'flagd-flags.json'),
  };
  writeFileSync(files.flagstream, JSON.stringify(flagstreamSnapshotMessage(flags)));
  writeFileSync(join(dir, `unleash-backup-${UNLEASH_APP}.json`), JSON.stringify({ version: 2, features: flags.map(unleashFeature), segments: [] }));
  writeFileSync(files.launchdarkly, JSON.stringify({ flags: Object.fromEntries(flags.map((f) => [f.key, launchDarklyFlag(f)])), segments: {} }));
  writeFileSync(files.growthbook, JSON.stringify({ features: Object.fromEntries(flags.map((f) => [f.key, growthbookFeature(f)])) }));
  writeFileSync(files.flagd, JSON.stringify({ flags: Object.fromEntries(flags.map((f) => [f.key, flagdFlag(f)])) }));
  return files;
}
