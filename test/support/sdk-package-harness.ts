import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const REPO_DIR = path.resolve(__dirname, '../..');

export interface ProcessResult {
  /** The exit code; null when the process was killed (e.g. it did not exit within the timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end and reports how it ended (never rejects, except when it cannot start). */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd ?? REPO_DIR, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 << 20, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err && typeof err.code === 'string') return reject(err);
        resolve({ code: child.exitCode, stdout, stderr });
      },
    );
  });
}

/** Runs a command and returns its stdout; throws with its output when it fails. */
export async function runOk(command: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(command, args, options);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `npm run sdk:pack`'s script: builds the package and packs it; returns the tarball's path (its last line). */
export async function packSdk(): Promise<string> {
  const out = await runOk(process.execPath, ['libs/sdk/scripts/pack.mjs'], { timeoutMs: 90_000 });
  return out.trim().split('\n').pop()!;
}

export interface ScratchProject {
  dir: string;
  /** Where the package was installed. */
  packageDir: string;
  write(file: string, text: string): Promise<string>;
  /** Runs `node <file>` in the project (a file written with `write`). */
  node(file: string, env?: Record<string, string>): Promise<ProcessResult>;
  remove(): Promise<void>;
}

/**
 * A project of a user of the SDK, inside the repo (so that the optional peers resolve from the
 * repo's node_modules by walking up), with the tarball installed by npm from the file alone:
 * `--offline`, since the package has no runtime dependencies.
 */
export async function createScratchProject(tarball: string): Promise<ScratchProject> {
  const dir = path.join(REPO_DIR, '.test-results', `sdk-scratch-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: `sdk-scratch-${process.pid}`, version: '1.0.0', private: true }, null, 2));
  await runOk('npm', ['install', '--no-save', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock', tarball], {
    cwd: dir,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    timeoutMs: 60_000,
  });
  return {
    dir,
    packageDir: path.join(dir, 'node_modules/@flagstream/sdk'),
    async write(file, text) {
      const full = path.join(dir, file);
      await writeFile(full, text);
      return full;
    },
    node(file, env = {}) {
      return run(process.execPath, [file], { cwd: dir, env: { PATH: process.env.PATH, ...env }, timeoutMs: 20_000 });
    },
    async remove() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
