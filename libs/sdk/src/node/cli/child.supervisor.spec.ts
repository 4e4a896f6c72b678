import { ChildSupervisor, exitCodeOf, type ChildSupervisorOptions, type ExitStatus, type SupervisedChild } from './child.supervisor';
import { CliRunError } from './cli.errors';
import { environmentFor } from './env-names';

/** A child process stand-in: records signals; exits on SIGTERM/SIGINT unless told to ignore them, always on SIGKILL. */
class FakeChild implements SupervisedChild {
  readonly signals: NodeJS.Signals[] = [];
  private resolveExit!: (status: ExitStatus) => void;
  readonly exited = new Promise<ExitStatus>((resolve) => (this.resolveExit = resolve));
  gone = false;

  constructor(
    readonly values: string,
    private readonly ignoresTerm: boolean,
  ) {}

  kill(signal: NodeJS.Signals): void {
    if (this.gone) return;
    this.signals.push(signal);
    if (signal === 'SIGKILL' || !this.ignoresTerm) this.exit({ code: null, signal });
  }

  exit(status: ExitStatus): void {
    this.gone = true;
    this.resolveExit(status);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}

describe('ChildSupervisor', () => {
  /** What `read()` returns now (a stand-in for the SDK client's secrets). */
  let value: string;
  let reads: number;
  let children: FakeChild[];
  let reports: string[];
  let ignoresTerm: boolean;
  let readFails: string | null;

  beforeEach(() => {
    value = 'v1';
    reads = 0;
    children = [];
    reports = [];
    ignoresTerm = false;
    readFails = null;
  });

  function supervisor(extra: Partial<ChildSupervisorOptions<string>> = {}): ChildSupervisor<string> {
    return new ChildSupervisor<string>({
      read: () => {
        reads++;
        if (readFails) throw new CliRunError(readFails);
        return value;
      },
      same: (a, b) => a === b,
      start: async (values) => {
        const child = new FakeChild(values, ignoresTerm);
        children.push(child);
        return child;
      },
      watch: true,
      graceMs: 200,
      debounceMs: 20,
      report: (m) => reports.push(m),
      ...extra,
    });
  }

  it('runs one child and ends with its status when it exits on its own (no restart)', async () => {
    const s = supervisor();
    const run = s.run();
    await until(() => children.length === 1);
    expect(children[0].values).toBe('v1');
    children[0].exit({ code: 7, signal: null });
    await expect(run).resolves.toEqual({ code: 7, signal: null });
    await sleep(40);
    expect(children).toHaveLength(1);
  });

  it('coalesces a burst of changes into one restart with the newest values', async () => {
    const s = supervisor();
    const run = s.run();
    await until(() => children.length === 1);
    for (const v of ['v2', 'v3', 'v4']) {
      value = v;
      s.changed();
      await sleep(5);
    }
    await until(() => children.length === 2);
    await sleep(60);
    expect(children.map((c) => c.values)).toEqual(['v1', 'v4']);
    expect(children[0].signals).toEqual(['SIGTERM']);
    expect(reads).toBe(3); // the first start, the check after the burst, the read just before the new start
    expect(reports).toEqual(['values changed: restarting the child (SIGTERM, then SIGKILL after 200 ms)']);
    children[1].exit({ code: 0, signal: null });
    await expect(run).resolves.toEqual({ code: 0, signal: null });
  });

  it('does not restart when the values did not change (a notice about something else)', async () => {
    const s = supervisor();
    void s.run();
    await until(() => children.length === 1);
    s.changed();
    await sleep(60);
    expect(reads).toBe(2);
    expect(children).toHaveLength(1);
    expect(children[0].signals).toEqual([]);
    s.signal('SIGTERM');
  });

  it('sends SIGKILL to a child that ignores SIGTERM for graceMs, then starts the new one', async () => {
    ignoresTerm = true;
    const s = supervisor({ graceMs: 150 });
    void s.run();
    await until(() => children.length === 1);
    value = 'v2';
    const at = Date.now();
    s.changed();
    await until(() => children.length === 2);
    const took = Date.now() - at;
    expect(took).toBeGreaterThanOrEqual(150 + 20 - 5);
    expect(took).toBeLessThan(1000);
    expect(children[0].signals).toEqual(['SIGTERM', 'SIGKILL']);
    expect(children[1].values).toBe('v2');
    expect(reports[1]).toBe('the child did not exit within 150 ms of SIGTERM: sending SIGKILL');
    ignoresTerm = false;
    children[1].kill('SIGTERM');
  });

  it('folds changes made while the old child is stopping into the restart, and checks once more after it', async () => {
    ignoresTerm = true;
    const s = supervisor({ graceMs: 100 });
    void s.run();
    await until(() => children.length === 1);
    value = 'v2';
    s.changed();
    await until(() => children[0].signals.length === 1); // SIGTERM sent, waiting out the grace period
    value = 'v3';
    s.changed();
    await until(() => children.length === 2);
    expect(children[1].values).toBe('v3');
    await sleep(80);
    // The follow-up check found v3 already running: no third child.
    expect(children).toHaveLength(2);
    expect(reads).toBe(4); // first start, the check, the read before the new start, the follow-up check
    ignoresTerm = false;
    s.signal('SIGTERM');
  });

  it('keeps the child running when the new values cannot be used, and says why', async () => {
    const s = supervisor();
    void s.run();
    await until(() => children.length === 1);
    readFails = 'secret "a/b-c" and secret "a/b/c" both map to the environment variable A_B_C';
    s.changed();
    await until(() => reports.length === 1);
    expect(reports).toEqual(['not restarting: secret "a/b-c" and secret "a/b/c" both map to the environment variable A_B_C; the child keeps the values it has']);
    expect(children).toHaveLength(1);
    expect(children[0].signals).toEqual([]);
    s.signal('SIGTERM');
  });

  it('forwards a signal, ends with the child, and restarts nothing afterwards', async () => {
    const s = supervisor();
    const run = s.run();
    await until(() => children.length === 1);
    s.signal('SIGINT');
    value = 'v2';
    s.changed();
    await expect(run).resolves.toEqual({ code: null, signal: 'SIGINT' });
    await sleep(60);
    expect(children).toHaveLength(1);
    expect(children[0].signals).toEqual(['SIGINT']);
    expect(s.signalled).toBe('SIGINT');
  });

  it('passes SIGHUP through without ending the run: later changes still restart the child', async () => {
    ignoresTerm = true; // the fake ignores everything but SIGKILL: SIGHUP leaves it running
    const s = supervisor({ graceMs: 50 });
    void s.run();
    await until(() => children.length === 1);
    s.signal('SIGHUP', false);
    expect(children[0].signals).toEqual(['SIGHUP']);
    expect(s.signalled).toBeNull();
    value = 'v2';
    s.changed();
    await until(() => children.length === 2);
    expect(children[0].signals).toEqual(['SIGHUP', 'SIGTERM', 'SIGKILL']);
    children[1].exit({ code: 0, signal: null });
  });

  it('a signal during a restart goes to the old child, and no new child starts', async () => {
    ignoresTerm = true;
    const s = supervisor({ graceMs: 100 });
    const run = s.run();
    await until(() => children.length === 1);
    value = 'v2';
    s.changed();
    await until(() => children[0].signals.length === 1);
    s.signal('SIGINT');
    await expect(run).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    expect(children).toHaveLength(1);
    expect(children[0].signals).toEqual(['SIGTERM', 'SIGINT', 'SIGKILL']);
  });

  it('without watch, changes do nothing', async () => {
    const s = supervisor({ watch: false });
    const run = s.run();
    await until(() => children.length === 1);
    value = 'v2';
    s.changed();
    await sleep(60);
    expect(reads).toBe(1);
    children[0].exit({ code: 0, signal: null });
    await expect(run).resolves.toEqual({ code: 0, signal: null });
  });

  it('rejects when the first values cannot be read, or a new child cannot start', async () => {
    readFails = '--secrets "nope/**" matches none of the secrets this SDK key reads';
    await expect(supervisor().run()).rejects.toThrow('--secrets "nope/**" matches none');
    readFails = null;
    let starts = 0;
    const s = supervisor({
      start: async (values) => {
        if (++starts > 1) throw new CliRunError('cannot start "missing": no such program (ENOENT)');
        const child = new FakeChild(values, false);
        children.push(child);
        return child;
      },
    });
    const run = s.run();
    await until(() => children.length === 1);
    value = 'v2';
    s.changed();
    await expect(run).rejects.toThrow('cannot start "missing": no such program (ENOENT)');
  });
});

describe('ChildSupervisor with --mode env refusals (--watch)', () => {
  it('keeps the child when a change now maps to a denied or an inherited name, says why, and restarts once the values are usable', async () => {
    const secrets = new Map<string, string>([['app/token', 'token-1']]);
    const rules = { prefix: '', reserved: [], inherited: { DB_PASSWORD: 'inherited-pw' }, allowOverride: [] };
    const children: FakeChild[] = [];
    const reports: string[] = [];
    const s = new ChildSupervisor<Record<string, string>>({
      read: () => environmentFor({ secrets: new Map(secrets), config: new Map() }, rules),
      same: (a, b) => JSON.stringify(a) === JSON.stringify(b),
      start: async (env) => {
        const child = new FakeChild(JSON.stringify(env), false);
        children.push(child);
        return child;
      },
      watch: true,
      graceMs: 200,
      debounceMs: 10,
      report: (m) => reports.push(m),
    });
    const run = s.run();
    await until(() => children.length === 1);
    // An editor writes node_options (inherited from a parent environment, say).
    secrets.set('node_options', '--import=data:text/javascript,evil()');
    s.changed();
    await until(() => reports.length === 1);
    expect(reports[0]).toBe(
      'not restarting: secret "node_options" maps to the environment variable NODE_OPTIONS, which changes how programs load or run, so flagstream run never sets it (whoever can write the secret could run code in the child): pass --env-prefix, leave it out with --secrets, or use --mode pipe; the child keeps the values it has',
    );
    secrets.delete('node_options');
    secrets.set('db/password', 'new-pw');
    s.changed();
    await until(() => reports.length === 2);
    expect(reports[1]).toMatch(/^not restarting: secret "db\/password" maps to the environment variable DB_PASSWORD, which is already set in flagstream run's environment and would be replaced: pass --allow-override DB_PASSWORD/);
    expect(children).toHaveLength(1);
    expect(children[0].signals).toEqual([]);
    for (const r of reports) expect(r).not.toMatch(/evil|new-pw|inherited-pw/);
    // Usable again: the next change restarts the child with it.
    secrets.delete('db/password');
    secrets.set('app/token', 'token-2');
    s.changed();
    await until(() => children.length === 2);
    expect(children.map((c) => c.values)).toEqual(['{"APP_TOKEN":"token-1"}', '{"APP_TOKEN":"token-2"}']);
    expect(children[0].signals).toEqual(['SIGTERM']);
    s.signal('SIGTERM');
    await expect(run).resolves.toEqual({ code: null, signal: 'SIGTERM' });
  });
});

describe('exitCodeOf', () => {
  it('is the exit code, or 128 + the signal number', () => {
    expect(exitCodeOf({ code: 0, signal: null })).toBe(0);
    expect(exitCodeOf({ code: 42, signal: null })).toBe(42);
    expect(exitCodeOf({ code: null, signal: 'SIGTERM' })).toBe(143);
    expect(exitCodeOf({ code: null, signal: 'SIGKILL' })).toBe(137);
    expect(exitCodeOf({ code: null, signal: 'SIGINT' })).toBe(130);
  });
});
