/** The attributes every engine sees, in its own context shape. */
export interface BenchUser {
  key: string;
  country: string;
  plan: string;
  email: string;
  appVersion: string;
}

export type WorkloadId = 'W1' | 'W2' | 'W3' | 'W4';

/** Flag shapes shared by every engine; each engine translates them into its own configuration. */
export type BenchFlagShape = 'static' | 'half' | 'rules';

/** A bench flag: its key and which workload shape it has. */
export interface BenchFlag {
  key: string;
  shape: BenchFlagShape;
}

/** W3 variations; `rollout` is the 10% default rollout and `control` the other 90%. */
export const W3_VARIATIONS = ['enterprise', 'example', 'modern', 'rollout', 'control'] as const;

export const W3_COUNTRIES = ['US', 'CA', 'GB', 'DE', 'FR', 'IT', 'ES', 'NL', 'BE', 'SE', 'NO', 'DK', 'FI', 'PL', 'AT', 'CH', 'IE', 'PT', 'AU', 'NZ'];

/** W4: 1,000 flags cycling through the three shapes. */
export const W4_FLAGS: BenchFlag[] = Array.from({ length: 1000 }, (_, i) => ({
  key: `flag-${String(i).padStart(4, '0')}`,
  shape: (['static', 'half', 'rules'] as const)[i % 3]!,
}));

/** One engine prepared for the benchmark: plain synchronous or promise-returning evaluations. */
export interface EngineAdapter {
  readonly name: string;
  readonly version: string;
  /** Loads the flags (W1 'w1', W2 'w2', W3 'w3', and the W4 set) and converts the users once. */
  setup(flags: BenchFlag[], users: BenchUser[]): Promise<void>;
  /** Evaluates one flag for user `index`; returns the value (boolean or W3 variation name). */
  evaluate(flagKey: string, index: number): unknown;
  /** Evaluates every W4 flag for user `index`; returns how many flags it evaluated. */
  evaluateAll(index: number): unknown;
  /** True when evaluate/evaluateAll return promises. */
  readonly async: boolean;
  close(): Promise<void>;
}
