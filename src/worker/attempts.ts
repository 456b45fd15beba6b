import type { Logger } from '../common/log.js';
import { Opcode } from '../protocol/opcodes.js';
import type { JobDispatch, JobFinishedReport, ServicePolicy } from '../protocol/messages.js';
import type { Peer } from '../protocol/peer.js';
import type { Executor, RunningJob, SpawnInfo } from './executor.js';
import { prepareJob, startJob, type RunnerContext } from './job-runner.js';
import type { DockerEngine } from './docker/engine.js';
import { DockerJob } from './docker/docker-job.js';
import { OutputBacklog } from './output-backlog.js';
import type { OutputLine } from './output-lines.js';
import type { PidRegistry } from './pid-registry.js';
import { ServiceSupervisor } from './service-supervisor.js';
import { forgetPid, killForLapsedLease, recordPid, type HeldJob } from './held-job.js';
import type { Watchdog } from './watchdog.js';
import type { WorkerLease } from './lease.js';
import type { ReportJournal } from './report-journal.js';
import { preparationError } from './start-errors.js';
import type { WorkerOptions } from './options.js';

const REPORT_RETRY_MS = 2_000; // how soon a finish report the master refused (a full disk) is sent again

export interface AttemptsDeps {
  readonly workerId: string;
  readonly options: WorkerOptions;
  readonly runner: RunnerContext;
  readonly docker: DockerEngine | null;
  readonly pids: PidRegistry;
  readonly watchdog: Watchdog;
  readonly lease: WorkerLease;
  /** Finish reports not yet acknowledged, kept across this worker's own death. */
  readonly journal: ReportJournal;
  /** The current connection to the master, null while there is none. */
  readonly master: () => Peer | null;
  readonly log: Logger;
}

/**
 * The attempts this worker holds, from dispatch to the master's acknowledgement of their finish:
 * starting them (process, container or supervised service), telling the master what happens,
 * and keeping each finish report until it is acknowledged, so a master restart loses none.
 */
export class Attempts {
  private readonly held = new Map<string, HeldJob>();
  private drained: (() => void) | null = null;

  constructor(private readonly deps: AttemptsDeps) {}

  all(): IterableIterator<HeldJob> {
    return this.held.values();
  }

  get size(): number {
    return this.held.size;
  }

  /** Attempts whose process may still run (no finish report yet). */
  running(): HeldJob[] {
    return [...this.held.values()].filter((h) => h.report === null);
  }

  /** Resolves once every attempt has finished (or at once when none runs). */
  allFinished(): Promise<void> {
    if (this.running().length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.drained = resolve));
  }

  /** Stops every service (a supervisor would restart what is about to be killed). */
  stopServices(): void {
    for (const held of this.held.values()) held.service?.stop();
  }

  containers(): DockerJob[] {
    return [...this.held.values()].flatMap((h) => (h.process instanceof DockerJob ? [h.process] : []));
  }

  /**
   * After a (re)registration: the output printed while there was no master, then the reports the
   * previous connection did not get acknowledged.
   */
  afterRegistration(): void {
    const peer = this.deps.master();
    for (const held of this.held.values()) {
      if (peer !== null && !held.backlog.empty) {
        for (const lines of held.backlog.take()) peer.notify(Opcode.JOB_LOG_LINES, { jobId: held.jobId, attempt: held.attempt, lines });
      }
      if (held.report !== null) this.sendReport(held);
    }
  }

  /**
   * A previous life of this worker finished these attempts but the master never acknowledged
   * them: they are held again, so registration lists them and the reports are sent.
   */
  restore(reports: readonly JobFinishedReport[]): void {
    for (const report of reports) {
      this.held.set(report.jobId, {
        jobId: report.jobId,
        attempt: report.attempt,
        process: null,
        service: null,
        report,
        deadline: null,
        leaseExpired: false,
        reportRefused: false,
        backlog: new OutputBacklog(),
      });
    }
    if (reports.length > 0)
      this.deps.log.info({ reports: reports.map((r) => `${r.jobId}/${r.attempt}`) }, 'holding finish reports a previous run did not get acknowledged');
  }

  run(job: JobDispatch): void {
    const existing = this.held.get(job.jobId);
    if (existing !== undefined && existing.attempt >= job.attempt) return;
    if (existing !== undefined) {
      existing.process?.kill('SIGKILL');
      existing.service?.stop('SIGKILL');
      this.deps.journal.drop(existing.jobId, existing.attempt);
    }
    const held: HeldJob = {
      jobId: job.jobId,
      attempt: job.attempt,
      process: null,
      service: null,
      report: null,
      deadline: null,
      leaseExpired: false,
      reportRefused: false,
      backlog: new OutputBacklog(),
      ...(job.dagId !== undefined ? { dagId: job.dagId } : {}),
    };
    this.held.set(job.jobId, held);
    this.deps.watchdog.started(job.jobId, job.attempt); // before the spawn: a crash during it leaves nothing behind
    const onLines = (lines: OutputLine[]): void => {
      const peer = this.deps.master();
      // Behind a backlog, lines wait their turn: the next registration sends it first, in order.
      if (peer === null || !held.backlog.empty) held.backlog.keep(lines);
      else peer.notify(Opcode.JOB_LOG_LINES, { jobId: job.jobId, attempt: job.attempt, lines });
    };
    if (job.service !== undefined) {
      // A fixed port is free again only once the previous attempt's processes are gone.
      this.runService(held, job, job.service, onLines, existing?.service?.done ?? Promise.resolve());
      return;
    }
    const startedAt = Date.now();
    const { runner, options } = this.deps;
    const driver = job.driver ?? options.driver ?? 'process';
    const starting = driver === 'docker' ? prepareJob(runner, job, onLines).then((req) => this.startContainer(req, job.image)) : startJob(runner, job, onLines);
    starting.then(
      (running) => this.watch(held, running, job.timeoutSeconds),
      (err: unknown) =>
        this.finish(held, { exitCode: null, signal: null, durationMs: Date.now() - startedAt, error: preparationError(err, options.workDir), timedOut: false }),
    );
  }

  kill(jobId: string, attempt: number, reason: string): void {
    const held = this.held.get(jobId);
    if (held === undefined || held.attempt !== attempt) return;
    this.deps.log.info({ jobId, attempt, reason }, 'killing job on request');
    if (held.service !== null) held.service.stop();
    else if (held.process !== null) held.process.kill();
    else {
      this.held.delete(jobId);
      this.deps.journal.drop(jobId, attempt);
    }
  }

  /** Nothing from the master for the lease: every attempt is stopped before the master may run it elsewhere. */
  leaseExpired(): void {
    const running = this.running();
    const { workerId, lease, log } = this.deps;
    if (running.length > 0) {
      log.warn(
        { workerId, leaseMs: lease.lengthMs, attempts: running.map((h) => `${h.jobId}/${h.attempt}`) },
        'lease ran out without word from the master: killing its attempts',
      );
      killForLapsedLease(running);
    } else {
      log.warn({ workerId, leaseMs: lease.lengthMs }, 'lease ran out without word from the master: dialing again');
    }
    // The connection is most likely dead without knowing it (a cut cable, a frozen master that
    // another has replaced): dial again, idle or not, or an idle worker would wait on it for good.
    this.deps.master()?.close();
  }

  private watch(held: HeldJob, running: RunningJob, timeoutSeconds: number): void {
    held.process = running;
    const fields = { jobId: held.jobId, attempt: held.attempt };
    void running.spawned.then((info) => {
      if (info === null) return;
      // The executor stops it at the timeout (SIGTERM, then SIGKILL after the grace); the janitor
      // steps in only when that did not happen.
      if (timeoutSeconds > 0) held.deadline = info.startedAt + timeoutSeconds * 1000 + this.deps.options.killGraceMs + 2_000;
      this.deps.master()?.notify(Opcode.JOB_STARTED, { ...fields, pid: info.pid });
      // A container has no host pid of ours (0): the engine, not the registry, owns it.
      if (info.pid > 0) this.recordPid(held, info);
    });
    void running.done.then((result) => {
      if (running.pid !== undefined) forgetPid(this.deps.pids, held, running.pid, this.deps.log);
      this.finish(held, { ...result, ...(result.error !== undefined ? { error: result.error } : {}) });
    });
  }

  /**
   * JOB_STARTED once; SERVICE_READY and SERVICE_RESTARTED as notifications, each time; JOB_FINISHED
   * (kept until acknowledged) only when the supervisor gives up or is stopped.
   */
  private runService(held: HeldJob, job: JobDispatch, policy: ServicePolicy, onLines: (lines: OutputLine[]) => void, previous: Promise<unknown>): void {
    const fields = { jobId: job.jobId, attempt: job.attempt };
    const { log, master } = this.deps;
    const supervisor = new ServiceSupervisor({
      runner: this.deps.runner,
      job,
      policy,
      log,
      hooks: {
        onLines,
        onSpawned: (info, restarts) => {
          if (restarts === 0) master()?.notify(Opcode.JOB_STARTED, { ...fields, pid: info.pid });
          this.recordPid(held, info);
        },
        onExited: (pid) => forgetPid(this.deps.pids, held, pid, log),
        onReady: (port, pid) => {
          log.info({ ...fields, port, pid }, 'service ready');
          master()?.notify(Opcode.SERVICE_READY, { ...fields, port, pid });
        },
        onRestarted: (restarts, pid, exitCode, signal) => {
          master()?.notify(Opcode.SERVICE_RESTARTED, { ...fields, restarts, pid, exitCode, signal });
        },
      },
    });
    held.service = supervisor;
    void previous.then(() => supervisor.start());
    void supervisor.done.then((result) => {
      if (result.error !== undefined) log.warn({ ...fields, error: result.error }, 'service gave up');
      this.finish(held, result);
    });
  }

  private startContainer(req: Parameters<Executor['start']>[0], image: string | undefined): RunningJob {
    const { docker, options, workerId, log } = this.deps;
    if (docker === null) throw new Error('this worker does not offer the docker driver; start it with --allow-drivers docker');
    if (image === undefined) throw new Error('the docker driver needs an image: give the job image: <name> (or --image)');
    return new DockerJob(req, image, { engine: docker, workerId, pidsLimit: options.pidsLimit ?? 0, killGraceMs: options.killGraceMs, log });
  }

  private recordPid(held: HeldJob, info: SpawnInfo): void {
    this.deps.watchdog.started(held.jobId, held.attempt, info.pgid, info.cgroupProcs);
    recordPid(this.deps.pids, held, info, this.deps.log);
  }

  private finish(held: HeldJob, result: Omit<JobFinishedReport, 'jobId' | 'attempt'>): void {
    const { watchdog, lease } = this.deps;
    watchdog.ended(held.jobId, held.attempt);
    // A clean exit is reported as it is, lease or not: the master decides whether it still counts.
    const lapsed = (held.leaseExpired || lease.expired) && result.exitCode !== 0;
    const why = `killed: no word from the master for ${lease.lengthMs ?? 0} ms (its lease ran out), so that the attempt cannot run twice`;
    held.report = { jobId: held.jobId, attempt: held.attempt, ...result, ...(lapsed ? { leaseExpired: true, error: why } : {}) };
    this.deps.journal.keep(held.report);
    this.sendReport(held);
  }

  private sendReport(held: HeldJob): void {
    const peer = this.deps.master();
    if (peer === null || held.report === null) return;
    peer.request(Opcode.JOB_FINISHED, held.report).then(
      () => {
        this.deps.journal.drop(held.jobId, held.attempt);
        if (this.held.get(held.jobId) === held) this.held.delete(held.jobId);
        if (this.drained !== null && this.running().length === 0) this.drained();
      },
      // Kept in `held`: sent again shortly (a master whose disk is full refuses it), and after the next registration.
      (err: unknown) => {
        this.deps.log.warn({ jobId: held.jobId, err: (err as Error).message }, 'finish report not acknowledged yet');
        held.reportRefused = true;
        setTimeout(() => this.deps.master() === peer && this.held.get(held.jobId) === held && this.sendReport(held), REPORT_RETRY_MS).unref();
      },
    );
  }
}
