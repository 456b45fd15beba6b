/** Every process and temp dir the bench starts, so that any exit path (error, Ctrl-C) removes them. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export interface Tracked {
  readonly child: ChildProcess;
  /** The last few KB the process printed (stdout and stderr), for error messages. */
  tail(): string;
  /** Resolves with the first match of re in its stdout, or rejects on exit or after timeoutMs. */
  line(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

const TAIL_CHARS = 4096;

/** Spawns a process whose output is always drained (a full pipe would stall it) and tracked by PID. */
export function spawnTracked(file: string, args: readonly string[], options: SpawnOptions = {}): Tracked {
  const child = spawn(file, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  let tail = '';
  const keep = (chunk: Buffer, isStdout: boolean): void => {
    const text = chunk.toString();
    tail = (tail + text).slice(-TAIL_CHARS);
    if (isStdout) out = (out + text).slice(-TAIL_CHARS);
  };
  child.stdout?.on('data', (c: Buffer) => keep(c, true));
  child.stderr?.on('data', (c: Buffer) => keep(c, false));
  return {
    child,
    tail: () => tail,
    line: (re, timeoutMs) =>
      new Promise((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.off('exit', onExit);
        };
        const check = (): void => {
          const match = re.exec(out);
          if (match !== null) {
            done();
            resolve(match);
          }
        };
        const onExit = (code: number | null, signal: string | null): void => {
          done();
          reject(new Error(`${file} exited (${String(code ?? signal)}) before printing ${String(re)}; output:\n${tail}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${file}: nothing matching ${String(re)} within ${timeoutMs} ms; output:\n${tail}`));
        }, timeoutMs);
        // Listeners added after keep(), so `out` already holds the chunk when check runs.
        child.stdout?.on('data', check);
        child.once('exit', onExit);
        check();
      }),
  };
}

/** Sends signal to this one process (by its PID) and resolves once it has exited. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // A root worker's jobs (titan-job) pass through to their workspaces here; otherwise its workers
  // would put them under /var/lib/titan-jobs, outside this folder.
  chmodSync(dir, 0o711);
  dirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Last resort on any exit path: SIGKILL what is still running (by PID) and remove the temp dirs. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c, 'SIGKILL')));
  for (const dir of [...dirs]) removeDir(dir);
}

/** Synchronous variant for process 'exit', where no promise can be awaited. */
export function cleanupAllSync(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of [...dirs]) removeDir(dir);
}
