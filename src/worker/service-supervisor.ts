/**
 * Keeps one attempt of a service alive, as PM2 does for a process: a port chosen once for its
 * whole life, readiness reported each time a (re)started process answers on it, restarts by its
 * policy with backoff for repeated crashes, and a crash loop ending it.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../common/log.js';
import type { JobDispatch, ServicePolicy } from '../protocol/messages.js';
import type { JobResult, RunningJob, SpawnInfo, StartRequest } from './executor.js';
import { freePort } from './free-port.js';
import { prepareJob, type RunnerContext } from './job-runner.js';
import type { OutputLine } from './output-lines.js';
import { waitUntilReady } from './readiness.js';
import { DEFAULT_RESTART_TIMING, RestartWindow, restartDelayMs, wantsRestart, type RestartTiming } from './restart-policy.js';

export interface ServiceHooks {
  /** Output of every process of the service, as for a task. */
  readonly onLines: (lines: OutputLine[]) => void;
  /** Each process start, in the turn of its spawn (`restarts` is 0 for the first). */
  readonly onSpawned?: (info: SpawnInfo, restarts: number) => void;
  /** Each process end, before the restart decision. */
  readonly onExited?: (pid: number) => void;
  /** A (re)started process answered on its port. */
  readonly onReady: (port: number, pid: number) => void;
  /** A replacement was started (`pid`) for a process that ended with `exitCode`/`signal`. */
  readonly onRestarted: (restarts: number, pid: number, exitCode: number | null, signal: string | null) => void;
}

export interface ServiceOptions {
  readonly runner: RunnerContext;
  readonly job: JobDispatch;
  readonly policy: ServicePolicy;
  readonly hooks: ServiceHooks;
  readonly log?: Logger;
  readonly timing?: RestartTiming;
}

/** How the service ended: the last process's exit, and the service's whole life as durationMs. */
export interface ServiceResult extends JobResult {
  /** Set when it ended by stop(), not by its policy or a crash loop. */
  readonly stopped?: true;
}

type Exit = Pick<JobResult, 'exitCode' | 'signal'>;

export class ServiceSupervisor {
  readonly done: Promise<ServiceResult>;
  #resolveDone!: (result: ServiceResult) => void;
  readonly #options: ServiceOptions;
  readonly #timing: RestartTiming;
  readonly #window: RestartWindow;
  readonly #fields: { jobId: string; attempt: number };
  #port: number | undefined;
  #request: StartRequest | null = null;
  #current: RunningJob | null = null;
  #probe: AbortController | null = null;
  #pendingRestart: NodeJS.Timeout | null = null;
  #ready = false;
  #restarts = 0;
  #streak = 0;
  #last: Exit = { exitCode: null, signal: null };
  #startedAt = 0;
  #started = false;
  #stopping = false;
  #finished = false;

  constructor(options: ServiceOptions) {
    this.#options = options;
    this.#timing = options.timing ?? DEFAULT_RESTART_TIMING;
    this.#window = new RestartWindow(options.policy.maxRestarts, options.policy.windowSeconds * 1000);
    this.#fields = { jobId: options.job.jobId, attempt: options.job.attempt };
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** The service's port, once chosen; the same across restarts. */
  get port(): number | undefined {
    return this.#port;
  }

  /** Whether the running process has answered its readiness check. */
  get ready(): boolean {
    return this.#ready;
  }

  get restarts(): number {
    return this.#restarts;
  }

  get pid(): number | undefined {
    return this.#current?.pid;
  }

  /** Chooses the port, prepares the workspace and starts the first process. Idempotent. */
  start(): void {
    if (this.#started || this.#finished) return;
    this.#started = true;
    this.#startedAt = performance.now();
    void this.#boot();
  }

  /** Stops for good: kills the process tree and resolves `done` with `stopped`. Idempotent. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.#finished) return;
    this.#stopping = true;
    this.#probe?.abort();
    this.#ready = false;
    if (this.#pendingRestart !== null) {
      clearTimeout(this.#pendingRestart);
      this.#pendingRestart = null;
      this.#end({ ...this.#last, stopped: true });
    } else if (this.#current !== null) {
      this.#current.kill(signal); // #exited ends the service
    } else if (!this.#started) {
      this.#end({ stopped: true });
    } // else still preparing: #boot sees #stopping
  }

  async #boot(): Promise<void> {
    const { runner, job, policy, hooks } = this.#options;
    try {
      const port = policy.port ?? (await freePort());
      this.#port = port;
      // A service runs until stopped: the task timeout does not apply to it.
      const { timeoutMs: _noTimeout, ...request } = await prepareJob(runner, job, hooks.onLines, { PORT: String(port) });
      this.#request = request;
    } catch (err) {
      this.#end({ error: `could not prepare the service: ${(err as Error).message}` });
      return;
    }
    if (this.#stopping) this.#end({ stopped: true });
    else this.#spawn(null);
  }

  #spawn(previous: Exit | null): void {
    const request = this.#request;
    if (request === null) return;
    const running = this.#options.runner.executor.start(request);
    this.#current = running;
    const spawnedAt = performance.now();
    const restarts = this.#restarts;
    void running.spawned.then((info) => {
      if (info === null) return; // `done` carries the reason
      this.#options.hooks.onSpawned?.(info, restarts);
      if (previous !== null) this.#options.hooks.onRestarted(restarts, info.pid, previous.exitCode, previous.signal);
      this.#watchReadiness(running, info.pid);
    });
    void running.done.then((result) => this.#exited(running, result, spawnedAt));
  }

  #watchReadiness(running: RunningJob, pid: number): void {
    const port = this.#port;
    if (this.#current !== running || this.#stopping || port === undefined) return;
    const probe = new AbortController();
    this.#probe = probe;
    waitUntilReady({ port, path: this.#options.policy.readinessPath, signal: probe.signal }).then(
      (answered) => {
        if (!answered || this.#current !== running || this.#stopping) return;
        this.#ready = true;
        this.#options.hooks.onReady(port, pid);
      },
      (err: unknown) => this.#options.log?.error({ ...this.#fields, port, err }, 'service readiness check failed'),
    );
  }

  #exited(running: RunningJob, result: JobResult, spawnedAt: number): void {
    this.#probe?.abort();
    this.#probe = null;
    this.#ready = false;
    this.#current = null;
    if (running.pid !== undefined) this.#options.hooks.onExited?.(running.pid);
    const exit: Exit = { exitCode: result.exitCode, signal: result.signal };
    this.#last = exit;
    if (this.#stopping) return this.#end({ ...exit, stopped: true });
    if (result.error !== undefined) return this.#end({ ...exit, error: result.error });
    const { policy, log } = this.#options;
    if (!wantsRestart(policy.restart, result.exitCode)) return this.#end(exit);
    const now = performance.now();
    if (!this.#window.admit(now)) {
      return this.#end({ ...exit, error: `crash loop: ${this.#window.count} restarts within ${policy.windowSeconds} s; see its logs` });
    }
    this.#streak = now - spawnedAt >= this.#timing.stableAfterMs ? 1 : this.#streak + 1;
    this.#restarts += 1;
    const delayMs = restartDelayMs(this.#streak, this.#timing);
    log?.info({ ...this.#fields, ...exit, restarts: this.#restarts, delayMs }, 'service process ended; restarting it');
    // The replacement starts in this turn when no backoff is due: restart speed is what a
    // supervisor is judged by.
    if (delayMs === 0) this.#spawn(exit);
    else {
      this.#pendingRestart = setTimeout(() => {
        this.#pendingRestart = null;
        this.#spawn(exit);
      }, delayMs);
    }
  }

  #end(outcome: Partial<Exit> & { readonly error?: string; readonly stopped?: true }): void {
    if (this.#finished) return;
    this.#finished = true;
    const durationMs = this.#started ? Math.max(0, Math.round(performance.now() - this.#startedAt)) : 0;
    const result: ServiceResult = { exitCode: outcome.exitCode ?? null, signal: outcome.signal ?? null, durationMs, timedOut: false };
    this.#resolveDone({
      ...result,
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      ...(outcome.stopped === true ? { stopped: true as const } : {}),
    });
  }
}
