/**
 * The worker's side of its watchdog (watchdog-main.ts): starts it, detached so it outlives the
 * worker, and tells it which attempts run and until when the worker's lease holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../common/log.js';
import { attemptKey, type WatchdogMessage } from './watchdog-protocol.js';

const MAIN = fileURLToPath(new URL('./watchdog-main.js', import.meta.url));

export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

export class Watchdog {
  private child: ChildProcess | null = null;
  private pending = '';
  private flushQueued = false;

  constructor(
    private readonly workerId: string,
    private readonly log: Logger,
  ) {}

  /** Starts the watchdog process; the worker's death closes the pipe it reads. */
  start(): void {
    const child = spawn(process.execPath, ['--max-old-space-size=32', MAIN, this.workerId, String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    child.once('error', (err) => this.log.error({ err }, 'the watchdog could not start: a crash of this worker would leave its jobs running'));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.log.warn({ code, signal }, 'the watchdog exited');
      this.child = null;
    });
    // A broken pipe (the watchdog gone) must not take the worker down with it.
    child.stdin?.on('error', () => undefined);
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.child = child;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  lease(expiresAt: number): void {
    this.send({ type: 'lease', expiresAt });
  }

  started(jobId: string, attempt: number, pgid?: number, cgroupProcs?: readonly string[]): void {
    this.send({
      type: 'start',
      key: attemptKey(jobId, attempt),
      ...(pgid !== undefined ? { pgid } : {}),
      ...(cgroupProcs !== undefined && cgroupProcs.length > 0 ? { cgroupProcs } : {}),
    });
  }

  ended(jobId: string, attempt: number): void {
    this.send({ type: 'end', key: attemptKey(jobId, attempt) });
  }

  /** Closing the pipe on purpose: the watchdog kills what is left (nothing, after a clean close) and exits. */
  close(): void {
    this.flush();
    const child = this.child;
    this.child = null;
    child?.stdin?.end();
  }

  /**
   * Lines sent in one turn of the event loop go out in one write, from a microtask the first of
   * them queues: a burst of dispatches and exits wakes the watchdog once, not once per line. A
   * start still reaches the pipe before its spawn: the executor spawns from a microtask queued
   * after the start was sent, so after this one.
   */
  private send(message: WatchdogMessage): void {
    this.pending += `${JSON.stringify(message)}\n`;
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(this.flush);
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    const lines = this.pending;
    this.pending = '';
    const stdin = this.child?.stdin;
    if (lines === '' || stdin === undefined || stdin === null || stdin.destroyed) return;
    stdin.write(lines);
  };
}
