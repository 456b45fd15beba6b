/** Runs one job attempt as a child process in its own process group, and reports how it ended. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Timers } from '../common/timers.js';
import type { Logger } from '../common/log.js';
import { commandFor, type Command } from './interpreter.js';
import { LineBatcher, LineQuota, LineSplitter, type OutputLine } from './output-lines.js';
import { OPEN_GATE, Valve, type OutputGate } from './output-flow.js';
import { DEFAULT_MAX_LOG_BYTES, logCutMarker } from '../common/log-cap.js';
import { LogFile } from './log-file.js';
import { describeSetupError, describeSpawnError, makeExecutable } from './start-errors.js';
import type { Confiner, Confinement } from './confine/confiner.js';
import type { WarmPythons } from './warm/warm-pythons.js';
import { forkWarmJob, type ForkedJob } from './warm/warm-job.js';
import { closePipes, pump, type JobChild } from './job-child.js';

export type { JobResult, RunningJob, SpawnInfo, StartRequest } from './executor-types.js';
import type { JobResult, RunningJob, SpawnInfo, StartRequest } from './executor-types.js';

export interface ExecutorOptions {
  readonly log?: Logger;
  /** Between SIGTERM and SIGKILL on stop or timeout. Default 5000. */
  readonly killGraceMs?: number;
  /** How long output may stay open after the main process exited (a background child holding it)
   * before the rest of the group is killed. Default 2000. */
  readonly stdioGraceMs?: number;
  readonly lineBatchSize?: number;
  readonly lineFlushMs?: number;
  readonly maxLineChars?: number;
  /** Applies limits and sandboxes; without it jobs run unconfined and sandbox requests fail. */
  readonly confiner?: Confiner;
  /** Forks the `.py` jobs it accepts from a warm interpreter instead of spawning python3 (`--no-warm`: absent). */
  readonly warm?: WarmPythons;
  /** Most bytes of output one attempt's lines and each of its log files keep (a marker shows the cut). */
  readonly maxLogBytes?: number;
  /** Closed while lines cannot be passed on (the link to the master is congested): pipes stop being read. */
  readonly outputGate?: OutputGate;
}

type Settings = Required<Omit<ExecutorOptions, 'log' | 'confiner' | 'warm'>> & {
  log: Logger | undefined;
  confiner: Confiner | undefined;
  warm: WarmPythons | undefined;
};

export class Executor {
  readonly #settings: Settings;
  readonly #running = new Set<RunningJob>();

  constructor(options: ExecutorOptions = {}) {
    this.#settings = {
      log: options.log,
      confiner: options.confiner,
      warm: options.warm,
      killGraceMs: options.killGraceMs ?? 5000,
      stdioGraceMs: options.stdioGraceMs ?? 2000,
      lineBatchSize: options.lineBatchSize ?? 256,
      lineFlushMs: options.lineFlushMs ?? 50,
      maxLineChars: options.maxLineChars ?? 64 * 1024,
      maxLogBytes: options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES,
      outputGate: options.outputGate ?? OPEN_GATE,
    };
  }

  start(req: StartRequest): RunningJob {
    const job = new JobProcess(req, this.#settings);
    this.#running.add(job);
    void job.done.finally(() => this.#running.delete(job));
    return job;
  }

  running(): RunningJob[] {
    return [...this.#running];
  }

  /** Stops every job still running and waits until each has ended. */
  async close(): Promise<void> {
    const jobs = [...this.#running];
    for (const job of jobs) job.kill();
    await Promise.all(jobs.map((job) => job.done));
  }
}

class JobProcess implements RunningJob {
  readonly jobId: string;
  readonly attempt: number;
  readonly spawned: Promise<SpawnInfo | null>;
  readonly done: Promise<JobResult>;
  #resolveSpawned!: (info: SpawnInfo | null) => void;
  #resolveDone!: (result: JobResult) => void;
  #child: JobChild | undefined;
  #exit: { code: number | null; signal: string | null; at: number } | undefined;
  #spawnError: NodeJS.ErrnoException | undefined;
  #startedAt = 0;
  #closed = false;
  /** The pipes' valves, to tell a pipe paused by us from one held open by a leftover process. */
  #valves: Array<Valve | undefined> = [];
  #stopSignal: NodeJS.Signals | undefined;
  #timedOut = false;
  #confinement: Confinement | null = null;
  readonly #timers = new Timers();

  constructor(
    private readonly req: StartRequest,
    private readonly settings: Settings,
  ) {
    this.jobId = req.jobId;
    this.attempt = req.attempt;
    this.spawned = new Promise((resolve) => (this.#resolveSpawned = resolve));
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    // Launched in a microtask rather than here, so that a kill() right after start() still finds
    // the job unspawned; the spawn still happens in the same turn of the event loop.
    queueMicrotask(() => this.#launch());
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.#closed) return;
    const pid = this.#child?.pid;
    if (this.#child === undefined) {
      this.#stopSignal ??= signal; // not spawned yet: #launch sees this and never spawns
      return;
    }
    if (pid === undefined) return; // spawn failed; nothing runs
    if (signal === 'SIGKILL') {
      this.#stopSignal ??= signal;
      this.#signalGroup(pid, 'SIGKILL');
      return;
    }
    if (this.#stopSignal !== undefined) return;
    this.#stopSignal = signal;
    this.#signalGroup(pid, signal);
    this.#timers.after(this.settings.killGraceMs, () => this.#signalGroup(pid, 'SIGKILL'));
  }

  #launch(): void {
    const { req } = this;
    let command: Command;
    try {
      command = commandFor(req.run, req.args, req.workspace);
      // Synchronous on purpose: one mkdir syscall costs microseconds, while the promise version's
      // trip through the thread pool costs several times that on every job.
      mkdirSync(req.workspace, { recursive: true });
    } catch (err) {
      this.#finish({ error: describeSetupError(err, req) });
      return;
    }
    const warm = this.settings.warm;
    if (warm?.accepts(command, req.env, req.workspace, req.driver ?? 'process') === true) {
      void this.#fork(warm, command);
      return;
    }
    const executable = command.makeExecutable;
    if (executable === undefined) {
      this.#spawn(command);
      return;
    }
    makeExecutable(executable).then(
      () => this.#spawn(command),
      (err: unknown) => this.#finish({ error: describeSetupError(err, req) }),
    );
  }

  #spawn(command: Command): void {
    const { req } = this;
    if (this.#stopSignal !== undefined) {
      this.#finish({ signal: this.#stopSignal });
      return;
    }
    let launched = command;
    try {
      this.#confinement = this.#confine(command);
      launched = this.#confinement?.command ?? command;
    } catch (err) {
      this.#finish({ error: `could not confine the job: ${(err as Error).message}` });
      return;
    }
    let child: ChildProcess;
    try {
      // detached: its own process group, so stopping the job reaches everything it started.
      // A confinement drops to the job's user itself, after the steps that need the worker's rights.
      const user = this.#confinement === null && req.user !== undefined ? { uid: req.user.uid, gid: req.user.gid } : {};
      child = spawn(launched.file, launched.argv, { cwd: req.workspace, env: req.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...user });
    } catch (err) {
      this.#confinement?.release();
      this.#finish({ error: `could not start "${command.file}": ${String(err)}` });
      return;
    }
    this.#attach(child, command);
  }

  /** Forks the job from the warm interpreter; when no child comes (its server died or is wedged) it is spawned cold. */
  async #fork(warm: WarmPythons, command: Command): Promise<void> {
    if (this.#stopSignal !== undefined) return this.#finish({ signal: this.#stopSignal });
    let forked: ForkedJob | null;
    try {
      forked = await forkWarmJob(warm, this.settings.confiner, this.req, command);
    } catch (err) {
      return this.#finish({ error: `could not confine the job: ${(err as Error).message}` });
    }
    if (forked === null) return this.#spawn(command);
    if (this.#stopSignal !== undefined) {
      forked.abandon();
      return this.#finish({ signal: this.#stopSignal });
    }
    this.#confinement = forked.confinement;
    this.#attach(forked.child, command);
    // After `spawned` resolved: the pid registry reads the child's start time while it surely lives.
    queueMicrotask(() => forked.begin());
  }

  /** Reads the child's output and waits for its end, whichever way it was started. */
  #attach(child: JobChild, command: Command): void {
    const { req } = this;
    const { log } = this.settings;
    const fields = { jobId: req.jobId, attempt: req.attempt };
    this.#child = child;
    this.#startedAt = performance.now();
    const { maxLogBytes, outputGate } = this.settings;
    const stdoutLog = new LogFile(path.join(req.workspace, 'stdout.log'), log, fields, maxLogBytes);
    const stderrLog = new LogFile(path.join(req.workspace, 'stderr.log'), log, fields, maxLogBytes);
    const onLines = req.onLines;
    const quota = new LineQuota(maxLogBytes, logCutMarker(maxLogBytes));
    const batcher = new LineBatcher(this.settings.lineBatchSize, this.settings.lineFlushMs, (lines) => {
      const kept = quota.admit(lines);
      if (kept.length === 0) return;
      try {
        onLines?.(kept);
      } catch (err) {
        log?.error({ ...fields, err }, 'output line handler failed');
      }
    });
    const addLine = (line: OutputLine): void => batcher.add(line);
    const outLines = new LineSplitter('stdout', this.settings.maxLineChars, addLine);
    const errLines = new LineSplitter('stderr', this.settings.maxLineChars, addLine);
    this.#valves = [pump(child.stdout, stdoutLog, outLines, outputGate), pump(child.stderr, stderrLog, errLines, outputGate)];

    child.once('error', (err: NodeJS.ErrnoException) => {
      if (child.pid === undefined) this.#spawnError = err;
      else log?.warn({ ...fields, err }, 'job process error');
    });
    child.once('exit', (code, signal) => this.#onExit(child, code, signal));
    child.once('close', (code, signal) => {
      this.#closed = true;
      this.#timers.clear();
      const confinement = this.#confinement;
      const oom = confinement?.oomKilled() ?? false;
      confinement?.release();
      const at = Date.now();
      outLines.end(at);
      errLines.end(at);
      batcher.flush();
      void Promise.all([stdoutLog.close(), stderrLog.close()]).then(() => {
        if (this.#spawnError !== undefined) {
          this.#finish({ error: describeSpawnError(this.#spawnError, command, req) });
          return;
        }
        if (child.lostReason !== undefined) {
          this.#finish({ error: child.lostReason });
          return;
        }
        const exit = this.#exit ?? { code, signal, at: performance.now() };
        this.#finish({ exitCode: exit.code, signal: exit.signal, durationMs: exit.at - this.#startedAt, oom });
      });
    });

    const pid = child.pid;
    if (pid === undefined) {
      this.#resolveSpawned(null);
      return;
    }
    const cgroupProcs = this.#confinement?.cgroupProcs;
    this.#resolveSpawned({ pid, pgid: pid, startedAt: Date.now(), ...(cgroupProcs !== undefined ? { cgroupProcs } : {}) });
    const timeoutMs = req.timeoutMs ?? 0;
    if (timeoutMs > 0) {
      this.#timers.after(timeoutMs, () => {
        if (this.#exit !== undefined) return;
        this.#timedOut = true;
        log?.info({ ...fields, timeoutMs }, 'job timed out; stopping it');
        this.kill();
      });
    }
  }

  #onExit(child: JobChild, code: number | null, signal: NodeJS.Signals | null): void {
    this.#exit = { code, signal, at: performance.now() };
    const pid = child.pid;
    if (pid === undefined) return;
    // The main process is gone but something it started may still hold stdout/stderr open; such
    // leftovers of a finished job are killed rather than left to run unowned.
    this.#timers.after(this.settings.stdioGraceMs, () => {
      this.settings.log?.info(
        { jobId: this.jobId, attempt: this.attempt, pid },
        'job exited but processes it started still hold its output; killing its process group',
      );
      this.#signalGroup(pid, 'SIGKILL');
      closePipes(child, this.#valves, this.#timers, this.settings.stdioGraceMs);
    });
  }

  /** The request's fences around the command; throws when they cannot be set up. */
  #confine(command: Command): Confinement | null {
    const { req } = this;
    const driver = req.driver ?? 'process';
    const confiner = this.settings.confiner;
    if (driver === 'docker') throw new Error('the docker driver runs tasks only; run services with the process or sandbox driver');
    if (confiner === undefined) {
      if (driver !== 'process') throw new Error(`this worker does not run the ${driver} driver`);
      return null;
    }
    return confiner.confine(
      {
        jobId: req.jobId,
        attempt: req.attempt,
        workspace: req.workspace,
        writable: req.writable ?? [],
        resources: req.resources,
        driver,
        network: req.network ?? 'host',
        user: req.user,
      },
      command,
    );
  }

  #signalGroup(pid: number, signal: NodeJS.Signals): void {
    if (this.#closed) return; // the group may be gone and its id reused
    // Processes that left the job's group (setsid) are still in its cgroup.
    if (signal === 'SIGKILL') this.#confinement?.killAll();
    try {
      process.kill(-pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.settings.log?.warn({ jobId: this.jobId, attempt: this.attempt, pid, err }, 'could not signal job');
      }
    }
  }

  #finish(result: { exitCode?: number | null; signal?: string | null; durationMs?: number; error?: string; oom?: boolean }): void {
    this.#closed = true;
    this.#timers.clear();
    if (this.#child === undefined || result.error !== undefined) this.#resolveSpawned(null);
    const base = {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      durationMs: Math.max(0, Math.round(result.durationMs ?? 0)),
      timedOut: this.#timedOut,
      ...(result.oom === true ? { oom: true } : {}),
    };
    this.#resolveDone(result.error === undefined ? base : { ...base, error: result.error });
  }
}
