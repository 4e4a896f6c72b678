import { constants } from 'node:os';

/** How a child ended: its exit code, or the signal that ended it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started child, as the supervisor drives it (a real process, or a fake in tests). */
export interface SupervisedChild {
  /** Sends `signal`; does nothing once the child is gone. */
  kill(signal: NodeJS.Signals): void;
  /** Settles (never rejects) when the child has exited. */
  readonly exited: Promise<ExitStatus>;
}

/** What {@link ChildSupervisor} needs: how to read values, compare them and start a child. */
export interface ChildSupervisorOptions<V> {
  /** The values to start a child with, read now. Throws (a `CliRunError`) when they cannot be used. */
  read(): V;
  /** Whether two reads hold the same values (then a change notice does not restart the child). */
  same(a: V, b: V): boolean;
  /** Starts a child with `values`; rejects when it cannot start. */
  start(values: V): Promise<SupervisedChild>;
  /** Restart the child when `changed()` finds new values. Without it, `changed()` does nothing. */
  watch: boolean;
  /** How long a child has to exit after SIGTERM before SIGKILL. */
  graceMs: number;
  /** Change notices closer together than this make one restart. */
  debounceMs: number;
  /** A line for the user (stderr); never given a value. */
  report(message: string): void;
}

/**
 * Runs one child at a time and, with `watch`, replaces it when the values it was started with
 * change: SIGTERM, up to `graceMs` for it to exit, then SIGKILL, then a new child with the values
 * read at that moment. Bursts coalesce: notices within `debounceMs` make one check, notices during
 * a restart are folded into it (values are read again just before the new child starts) and
 * followed by one more check; a check that finds the same values does nothing. A child that
 * exits on its own ends the run with its status (it is not restarted: that is the job of whatever
 * runs the CLI), and so does a signal, which is forwarded to the child.
 */
export class ChildSupervisor<V> {
  private current: { child: SupervisedChild; values: V; retiring: boolean } | null = null;
  private restarting = false;
  /** A notice came in during a restart: check once more after it. */
  private dirty = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The first signal forwarded: no more restarts, the run ends with the child. */
  private stopping: NodeJS.Signals | null = null;
  private finished = false;
  private resolveRun!: (status: ExitStatus) => void;
  private rejectRun!: (error: unknown) => void;
  private readonly done = new Promise<ExitStatus>((resolve, reject) => {
    this.resolveRun = resolve;
    this.rejectRun = reject;
  });

  constructor(private readonly options: ChildSupervisorOptions<V>) {}

  /**
   * Starts the first child and resolves with the status of the child that ends the run. Rejects
   * when the first values cannot be read or a child cannot start.
   */
  async run(): Promise<ExitStatus> {
    const values = this.options.read();
    this.adopt(await this.options.start(values), values);
    return this.done;
  }

  /** A value may have changed (a `secretChange` or `configChange` event): check soon, once per burst. */
  changed(): void {
    if (!this.options.watch || this.finished || this.stopping) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check();
    }, this.options.debounceMs);
  }

  /**
   * Forwards `signal` to the child. With `stop` (SIGINT, SIGTERM) the run is ending: no restart
   * after it, and it ends when the child exits. Without (SIGHUP, which many programs take as
   * "reload"), the signal only passes through.
   */
  signal(signal: NodeJS.Signals, stop = true): void {
    if (this.finished) return;
    if (!stop) {
      this.current?.child.kill(signal);
      return;
    }
    this.stopping ??= signal;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.current?.child.kill(signal);
  }

  /** Whether a signal has been received (the run is ending). */
  get signalled(): NodeJS.Signals | null {
    return this.stopping;
  }

  private adopt(child: SupervisedChild, values: V): void {
    const entry = { child, values, retiring: false };
    this.current = entry;
    void child.exited.then((status) => {
      if (!entry.retiring) this.finish(status);
    });
    // A signal that came while the child was starting.
    if (this.stopping) child.kill(this.stopping);
  }

  private async check(): Promise<void> {
    if (this.finished || this.stopping || !this.current) return;
    if (this.restarting) {
      this.dirty = true;
      return;
    }
    let next: V;
    try {
      next = this.options.read();
    } catch (e) {
      this.options.report(`not restarting: ${(e as Error).message}; the child keeps the values it has`);
      return;
    }
    if (this.options.same(next, this.current.values)) return;
    this.restarting = true;
    try {
      await this.restart(next);
    } catch (e) {
      this.fail(e);
    } finally {
      this.restarting = false;
    }
    if (this.dirty && !this.finished) {
      this.dirty = false;
      this.changed();
    }
  }

  private async restart(next: V): Promise<void> {
    const old = this.current!;
    old.retiring = true;
    this.options.report(`values changed: restarting the child (SIGTERM, then SIGKILL after ${this.options.graceMs} ms)`);
    old.child.kill('SIGTERM');
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.options.graceMs)));
    let status = await Promise.race([old.child.exited, timedOut]);
    if (timer !== null) clearTimeout(timer);
    if (status === null) {
      this.options.report(`the child did not exit within ${this.options.graceMs} ms of SIGTERM: sending SIGKILL`);
      old.child.kill('SIGKILL');
      status = await old.child.exited;
    }
    if (this.stopping) {
      // A signal came during the restart: it went to the old child; the run ends with it.
      this.finish(status);
      return;
    }
    // Fold in what changed while the old child was stopping.
    let values = next;
    try {
      values = this.options.read();
    } catch (e) {
      this.options.report(`using the values read before the restart: ${(e as Error).message}`);
    }
    this.adopt(await this.options.start(values), values);
  }

  private finish(status: ExitStatus): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.resolveRun(status);
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.rejectRun(error);
  }
}

/** The CLI's exit code for a child's status: its code, or 128 + the signal's number (as shells report it). */
export function exitCodeOf(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  const n = status.signal ? constants.signals[status.signal] : undefined;
  return n === undefined ? 1 : 128 + n;
}
