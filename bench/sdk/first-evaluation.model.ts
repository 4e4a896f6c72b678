/** What every start-up child evaluates first: a 3-rule flag, for a context its first rule matches. */
export const FIRST_FLAG = 'flag-0002';
export const FIRST_USER = { key: 'user-1', country: 'US', plan: 'enterprise', email: 'a@mail.org', appVersion: '1.0.0' };
/** The value every engine must serve (from its offline file) for that flag and context. */
export const FIRST_VALUE = 'enterprise';
/** The Unleash application name: it names the backup file. */
export const UNLEASH_APP = 'sdk-bench';

/** The engines measured from an offline file, and how each starts. */
export const START_ENGINES = ['flagstream', 'flagstream-unordered', 'flagstream-openfeature', 'engine', 'unleash', 'launchdarkly', 'growthbook', 'flagd'] as const;
export type StartEngine = (typeof START_ENGINES)[number];

/** Files the children start from (written by offline-files.ts). */
export interface OfflineFiles {
  /** Flagstream's `FileSnapshotCache` file: the gateway's snapshot message, as canonical JSON (what the cache writes). */
  flagstream: string;
  /** The same snapshot written with `JSON.stringify` (keys not in canonical order), as a hand-made file would be. */
  flagstreamUnordered: string;
  /** Unleash's backup directory (`backupPath`), holding `unleash-backup-<appName>.json`. */
  unleashDir: string;
  /** LaunchDarkly's file data source (`FileDataSourceFactory({ paths })`). */
  launchdarkly: string;
  /** A GrowthBook payload (`initSync({ payload })`). */
  growthbook: string;
  /** A flagd flag configuration (`FlagdCore.setConfigurations`). */
  flagd: string;
}

/** What a start-up child reports (milliseconds from `performance.now()`, whose origin is the process start). */
export interface StartSample {
  engine: StartEngine;
  /** Process start to the first line of the child script (Node boot and `-r` hooks). */
  bootMs: number;
  /** Loading the SDK's modules (`import()`). */
  loadMs: number;
  /** Construction (or first call) to the first evaluation served from the offline file. */
  firstEvalMs: number;
  /** Process start to the first evaluation. */
  sinceProcessStartMs: number;
  value: unknown;
  /** Memory runs: heap retained by the started SDK (after gc), bytes. */
  heapBytes?: number;
}
