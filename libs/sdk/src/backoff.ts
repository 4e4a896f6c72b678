/** Reconnection delays: exponential with full jitter, reset after a healthy period. */
export interface BackoffOptions {
  /** First delay's upper bound. Default 500 ms. */
  initialMs?: number;
  /** Largest delay. Default 30 s. */
  maxMs?: number;
  /** A connection that stayed up this long resets the backoff. Default 60 s. */
  resetAfterMs?: number;
}

/**
 * Reconnection delays of the SDK's clients: exponential growth with full jitter (each delay is
 * uniform between 0 and the current cap, so many clients reconnecting at once spread out), reset
 * once a connection has stayed up `resetAfterMs`.
 */
export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  readonly resetAfterMs: number;

  /** `random` is injectable for tests; it must return a number in [0, 1). */
  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.resetAfterMs = options.resetAfterMs ?? 60_000;
  }

  /** The next delay: uniform in [0, min(max, initial * 2^attempt)] ("full jitter"). */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * cap);
  }

  /** Called when a connection ends: resets if it had been healthy long enough. */
  connectionLasted(ms: number): void {
    if (ms >= this.resetAfterMs) this.attempt = 0;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }
}
