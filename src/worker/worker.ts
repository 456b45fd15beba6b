import { ErrorCode, TitanError } from '../common/errors.js';
import { join } from 'node:path';
import { loadavg, freemem } from 'node:os';
import type { Logger } from '../common/log.js';
import { Opcode } from '../protocol/opcodes.js';
import { JobDispatch, JobKill } from '../protocol/messages.js';
import type { Peer } from '../protocol/peer.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import { Executor } from './executor.js';
import { tlsEnvironment } from '../security/tls-env.js';
import { workerBaseEnvironment, type RunnerContext } from './job-runner.js';
import { DockerEngine } from './docker/engine.js';
import { removeLeftoverContainers } from './docker/docker-job.js';
import { Link } from './link.js';
import { formatHostPort } from '../sdk/address.js';
import { LinkGate } from './link-gate.js';
import { WorkspaceSweeper } from './workspace-sweeper.js';
import { DEFAULT_RETENTION_MS } from '../common/retention.js';
import type { WorkerOptions } from './options.js';
import { registrationBody } from './registration.js';
import { PidRegistry } from './pid-registry.js';
import { ReportJournal } from './report-journal.js';
import { Confiner } from './confine/confiner.js';
import { WorkerJanitor } from './janitor.js';
import type { DriverName } from '../core/resources.js';
import { InferenceAgent } from '../inference/agent.js';
import { answerSpawnRequest, SpawnHost } from './spawn-host.js';
import { WarmPythons } from './warm/warm-pythons.js';
import { foldersInUse } from './held-job.js';
import { Attempts } from './attempts.js';
import { monotonicMs, Watchdog } from './watchdog.js';
import { WorkerLease } from './lease.js';
import { setUpJobs, type JobSetup } from './job-setup.js';
import { logJobPlacement } from './work-dir.js';

/**
 * A worker process: dials the master, registers, heartbeats, and hands what it is dispatched to
 * its attempts (attempts.ts), which run it and report back.
 */
export class Worker {
  readonly id: string;
  readonly startedAt = Date.now();
  /** The inference gateway's port once bound (0 without --inference). */
  inferencePort = 0;
  private readonly executor: Executor;
  /** The warm Python interpreter `.py` jobs are forked from; null with --no-warm. */
  readonly warmPython: WarmPythons | null;
  readonly confiner: Confiner;
  private readonly jobs: JobSetup;
  readonly drivers: readonly DriverName[];
  private readonly docker: DockerEngine | null;
  private readonly janitor: WorkerJanitor;
  private readonly pids: PidRegistry;
  private readonly journal: ReportJournal;
  private readonly link: Link;
  /** Kills the attempts' processes when this worker dies or its lease runs out. */
  private readonly watchdog: Watchdog;
  private readonly lease: WorkerLease;
  private readonly runner: RunnerContext;
  private readonly attempts: Attempts;
  /** Set on a spawnable host: the workers it started for the autoscaler. */
  private readonly spawnHost: SpawnHost | null;
  private heartbeat: NodeJS.Timeout | null = null;
  /** JOB_DISPATCH frames received on the current connection; heartbeats carry it (see Janitor.heartbeat). */
  private dispatchesReceived = 0;
  /** Present when started with --inference. */
  private readonly inference: InferenceAgent | null;
  private draining = false;
  /** Removes workspaces past the retention (--retention). */
  private readonly sweeper: WorkspaceSweeper;
  private readonly outputGate = new LinkGate(() => this.link.current); // jobs' output waits while the link is congested

  /** What to do when the master asks this worker to shut down (`titan shutdown`); the entry point drains and exits. */
  onStopRequested: () => void = () => void this.drain();

  constructor(
    private readonly options: WorkerOptions,
    private readonly log: Logger,
  ) {
    const jobs = (this.jobs = setUpJobs(options));
    this.id = jobs.id;
    const driver = options.driver ?? 'process';
    // With several masters, jobs and spawned workers get them all, to follow the leader as this worker does.
    const masterList = (options.masters?.length ?? 0) > 1 ? options.masters!.map(formatHostPort).join(',') : undefined;
    this.drivers = [...new Set([driver, ...(options.allowDrivers ?? [])])];
    this.confiner = Confiner.probe(
      {
        workerId: this.id,
        limits: options.limits ?? 'auto',
        pidsLimit: options.pidsLimit ?? 0,
        sandbox: this.drivers.includes('sandbox'),
        hidden: jobs.hidden,
        shown: jobs.shown,
      },
      log,
    );
    if (this.drivers.includes('sandbox') && this.confiner.bwrap === null) {
      throw new Error(
        `cannot offer the sandbox driver: ${this.confiner.report.sandbox ?? 'bwrap missing'}; install bubblewrap (apt-get install bubblewrap) or drop --driver sandbox`,
      );
    }
    const baseEnv = { ...workerBaseEnvironment(process.env, options.inheritEnv !== true), ...tlsEnvironment(jobs.tls) };
    this.warmPython =
      options.warmPython === false ? null : new WarmPythons({ baseEnv, cwd: options.workDir, preload: options.pythonPreload ?? [], runAs: jobs.jobUser, log });
    this.executor = new Executor({
      log,
      killGraceMs: options.killGraceMs,
      confiner: this.confiner,
      outputGate: this.outputGate,
      ...(options.maxLogBytes !== undefined ? { maxLogBytes: options.maxLogBytes } : {}),
      ...(this.warmPython !== null ? { warm: this.warmPython } : {}),
    });
    this.docker = this.drivers.includes('docker') ? new DockerEngine(options.dockerSocket ?? '/var/run/docker.sock') : null;
    this.pids = new PidRegistry(join(options.workDir, 'pids.json'));
    this.journal = new ReportJournal(join(options.workDir, 'reports.jsonl'), log);
    this.watchdog = new Watchdog(this.id, log);
    this.lease = new WorkerLease(
      (expiresAt) => this.watchdog.lease(expiresAt),
      () => this.attempts.leaseExpired(),
    );
    this.sweeper = new WorkspaceSweeper(options.workDir, options.retentionMs ?? DEFAULT_RETENTION_MS, () => foldersInUse(this.attempts.all()), log);
    this.janitor = new WorkerJanitor(
      () => [...this.attempts.all()].map((h) => ({ jobId: h.jobId, attempt: h.attempt, process: h.process, deadline: h.deadline, running: h.report === null })),
      this.pids,
      log,
    );
    this.runner = {
      workDir: options.workDir,
      jobsRoot: this.jobs.layout.jobsRoot,
      masterHost: options.masterHost,
      masterPort: options.masterPort,
      ...(masterList !== undefined ? { masterList } : {}),
      workerId: this.id,
      baseEnv,
      executor: this.executor,
      driver,
      fetchArtifact: (hash) => this.fetchArtifact(hash),
      jobUser: this.jobs.jobUser,
    };
    this.attempts = new Attempts({
      workerId: this.id,
      options,
      runner: this.runner,
      docker: this.docker,
      pids: this.pids,
      watchdog: this.watchdog,
      lease: this.lease,
      journal: this.journal,
      master: () => this.link.current,
      log,
    });
    this.inference =
      options.inference === undefined
        ? null
        : new InferenceAgent(this.id, options.inference, log, (outcome) => {
            this.link.current?.notify(Opcode.INFERENCE_OUTCOME, outcome);
          });
    this.spawnHost =
      options.spawn !== undefined
        ? new SpawnHost(options.spawn, {
            hostId: this.id,
            masterHost: options.masterHost,
            masterPort: options.masterPort,
            ...(masterList !== undefined ? { masterList } : {}),
            token: options.token,
            workDir: options.workDir,
            log,
          })
        : null;
    this.link = new Link(
      {
        masters: options.masters ?? [{ host: options.masterHost, port: options.masterPort }],
        token: options.token,
        minDelayMs: options.reconnectMinMs,
        maxDelayMs: options.reconnectMaxMs,
        log,
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
      },
      (peer, interval) => this.connected(peer, interval),
      () => this.disconnected(),
    );
  }

  /** Kills what a previous life of this worker left running, then connects. */
  async start(): Promise<void> {
    if (this.docker !== null) {
      const version = await this.docker.ping().catch((err: unknown) => {
        throw new Error(`cannot offer the docker driver: ${(err as Error).message}`);
      });
      this.log.info({ socket: this.docker.socketPath, version }, 'Docker Engine reachable');
      await removeLeftoverContainers(this.docker, this.id, this.log);
    }
    await this.warmPython?.start();
    const orphans = await PidRegistry.killOrphans(this.pids.file, this.log);
    this.attempts.restore(this.journal.load());
    if (orphans.length > 0)
      this.log.warn({ killed: orphans.map((o) => ({ pid: o.pid, jobId: o.jobId })) }, 'killed orphaned job processes from a previous run');
    this.log.info(
      {
        workerId: this.id,
        drivers: this.drivers,
        limits: this.confiner.limitsMechanism,
        jobUser: this.jobs.jobUser?.name ?? "the worker's",
        ...this.confiner.report,
      },
      'job isolation',
    );
    logJobPlacement(this.log, this.options.workDir, this.jobs.layout, this.jobs.jobUser);
    this.watchdog.start();
    this.janitor.start();
    this.sweeper.start();
    if (this.inference !== null) this.inferencePort = await this.inference.start();
    this.link.start();
  }

  /** Stops taking work, lets running jobs finish within the grace period, hands back the rest. */
  async drain(): Promise<void> {
    this.draining = true;
    const peer = this.link.current;
    if (peer !== null) await peer.request(Opcode.WORKER_DRAINING, {}, { timeoutMs: 2_000 }).catch(() => undefined);
    // Services never end by themselves: they are stopped now and handed back to be placed elsewhere.
    this.attempts.stopServices();
    await Promise.race([this.attempts.allFinished(), new Promise<void>((resolve) => setTimeout(resolve, this.options.drainGraceMs).unref())]);
    await this.close();
  }

  async close(): Promise<void> {
    this.draining = true;
    this.stopHeartbeat();
    this.janitor.close();
    this.sweeper.stop();
    // First, so that no supervisor restarts what the executor is about to kill.
    this.attempts.stopServices();
    await this.spawnHost?.close();
    // Containers are not the executor's: stop them here, and wait until they are removed.
    const containers = this.attempts.containers();
    for (const job of containers) job.kill('SIGKILL');
    await Promise.all([this.executor.close(), ...containers.map((job) => job.done)]);
    this.warmPython?.close();
    this.confiner.close();
    await this.pids.close();
    this.journal.close();
    await this.inference?.close();
    this.lease.close();
    this.watchdog.close();
    this.link.close();
  }

  private async connected(peer: Peer, heartbeatIntervalMs: number): Promise<void> {
    this.dispatchesReceived = 0;
    peer.onDrain(() => this.outputGate.release());
    peer.onRequest((msg, reply) => this.receive(msg, reply));
    const sentAt = monotonicMs();
    const registered = (await peer.request(
      Opcode.WORKER_REGISTER,
      registrationBody(this.id, this.options, this.drivers, this.attempts.all(), this.startedAt),
    )) as { inferencePublicKey?: unknown; leaseMs?: unknown };
    this.lease.configure(typeof registered.leaseMs === 'number' ? registered.leaseMs : undefined);
    this.lease.renew(sentAt);
    if (this.inference !== null && typeof registered.inferencePublicKey === 'string') await this.inference.setPublicKey(registered.inferencePublicKey);
    this.log.info({ workerId: this.id, holding: this.attempts.size }, 'registered with the master');
    if (this.draining) await peer.request(Opcode.WORKER_DRAINING, {}).catch(() => undefined);
    this.attempts.afterRegistration();
    this.stopHeartbeat();
    const beat = (): void => {
      // Left out: finished attempts whose report is in flight; kept: those whose report was refused (a full disk).
      const jobs = [...this.attempts.all()].filter((h) => h.report === null || h.reportRefused).map((h) => ({ jobId: h.jobId, attempt: h.attempt }));
      const inference = this.inference?.report();
      const dispatches = this.dispatchesReceived;
      const sent = monotonicMs();
      const body = {
        running: this.attempts.size,
        load1: loadavg()[0] ?? 0,
        freeMemoryMb: Math.round(freemem() / 1048576),
        jobs,
        dispatches,
        ...(inference !== undefined ? { inference } : {}),
      };
      // Each acknowledgement renews the lease; an unanswered beat is simply not counted.
      peer.request(Opcode.WORKER_HEARTBEAT, body, { timeoutMs: this.lease.lengthMs ?? 30_000 }).then(
        () => this.lease.renew(sent),
        (err: unknown) => {
          // Its jobs keep running: they are reported to the leader at the next registration.
          if (err instanceof TitanError && err.code === ErrorCode.NOT_LEADER && this.link.current === peer) this.link.leaderMoved(err.leader ?? null);
        },
      );
    };
    this.heartbeat = setInterval(beat, heartbeatIntervalMs);
    this.heartbeat.unref();
    // An inference agent is routable from its first report: send it now rather than one interval later.
    if (this.inference !== null) beat();
  }

  private disconnected(): void {
    this.stopHeartbeat();
    // While draining or closing, this worker is the one leaving: nothing to warn about.
    if (this.draining) this.log.info({ workerId: this.id }, 'left the master');
    else this.log.warn({ workerId: this.id }, 'lost the master; reconnecting');
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private receive(msg: IncomingMessage, reply: Replier): void {
    if (msg.opcode === Opcode.JOB_DISPATCH) {
      this.dispatchesReceived++;
      const parsed = JobDispatch.safeParse(msg.body);
      if (!parsed.success) this.log.error({ issues: parsed.error.issues }, 'malformed dispatch from the master');
      else this.attempts.run(parsed.data);
      reply.ok({ ok: true });
    } else if (msg.opcode === Opcode.JOB_KILL) {
      const parsed = JobKill.safeParse(msg.body);
      if (parsed.success) this.attempts.kill(parsed.data.jobId, parsed.data.attempt, parsed.data.reason);
      reply.ok({ ok: true });
    } else if (msg.opcode === Opcode.PING) {
      // The master times this round trip for inference routing.
      reply.ok({ pong: true });
    } else if (msg.opcode === Opcode.WORKER_STOP) {
      this.log.info({ workerId: this.id }, 'the master asked this worker to shut down: draining');
      reply.ok({ ok: true });
      this.onStopRequested();
    } else if (msg.opcode === Opcode.WORKER_SPAWN) {
      answerSpawnRequest(this.spawnHost, this.id, this.draining, msg, reply);
    } else {
      reply.error('E_INVALID_REQUEST', `opcode ${msg.opcode} is not something a worker serves`);
    }
  }

  private async fetchArtifact(hash: string): Promise<Uint8Array> {
    const peer = this.link.current;
    if (peer === null) throw new Error('not connected to the master');
    const answer = (await peer.request(Opcode.ARTIFACT_GET, { hash })) as { data: Uint8Array };
    return answer.data;
  }
}
