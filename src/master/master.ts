import { randomBytes } from 'node:crypto';
import { KeyedSerial } from '../common/keyed-serial.js';
import type { Logger } from '../common/log.js';
import { asTitanError, ErrorCode, storeFullError, TitanError } from '../common/errors.js';
import { Scheduler } from '../core/scheduler.js';
import type { Effect } from '../core/effects.js';
import type { Job } from '../core/job.js';
import type { Dag } from '../core/dag.js';
import type { AsyncStore, StoreBytes } from '../store/async-store.js';
import type { ScheduleRecord } from '../store/store.js';
import { Opcode } from '../protocol/opcodes.js';
import type { Peer } from '../protocol/peer.js';
import { DEFAULT_BODY_LIMITS, type BodyLimits } from '../protocol/body-limits.js';
import type { ArtifactBytes } from '../store/artifact-bytes.js';
import { Deadlines } from './deadlines.js';
import { JobWatchers } from './job-watchers.js';
import { LogIntake } from './log-intake.js';
import { DEFAULT_MAX_LOG_BYTES } from '../common/log-cap.js';
import type { MasterOptions } from './options.js';
import { ServiceDirectory } from './service-directory.js';
import { dispatchMessage } from './dispatch-message.js';
import { Schedules } from './schedules.js';
import { TimerSkew } from './timer-skew.js';
import { extendedHeartbeatDeadline, LoopLag } from './loop-lag.js';
import { DEFAULT_RETENTION_MS, Retention } from './retention.js';
import { EventFeed } from './event-feed.js';
import { WorkerVitals } from './worker-vitals.js';
import { readForRecovery } from './recovery-reads.js';
import { jobPorts, type JanitorReaps, type JobCommands, type JobReads, type KvStore, type LegacyNames, type WorkerReports } from './job-ports.js';
import { StoreGuard, type CommitOutcome, type StoreBatch } from './store-guard.js';
import type { Security } from '../security/security.js';
import type { InferencePort } from './inference-port.js';
import type { WorkerObserver } from './worker-observer.js';

/** What the master is given: it builds none of these (the composition root does, src/cli/master-process.ts). */
export interface MasterParts {
  readonly options: MasterOptions;
  readonly log: Logger;
  /** The master's only store: every read and write of history goes through it, promised (SQLite or PostgreSQL). */
  readonly store: AsyncStore;
  /** Artifact bytes: files in the data dir, or PostgreSQL's table mirrored there. */
  readonly artifacts: ArtifactBytes;
  readonly security: Security;
  /** The cluster token workers and the CLI authenticate with. */
  readonly token: string;
  readonly inference: InferencePort;
  /** Told of a commit that failed for another reason than a full disk (StoreGuard.onFailure): a leader steps down. */
  readonly onStoreFailure?: (err: unknown) => void;
}

/** The autoscaler's answers that job views and `titan workers` show. */
export interface ScalingView {
  explain(requirement: readonly string[], reason: string | null): string | null;
  spawnedHost(workerId: string): string | undefined;
}

const NO_SCALING: ScalingView = { explain: (_requirement, reason) => reason, spawnedHost: () => undefined };

/**
 * The control plane's state: owns the scheduling core and applies its effects (persist first,
 * then talk to workers and waiters). It listens on no port and builds no front end: those are
 * given its ports by the composition root.
 */
export class Master {
  private readonly scheduler: Scheduler;
  private readonly store: AsyncStore;
  /** Core commands of client requests, and applying their effects. */
  readonly commands: JobCommands;
  /** What workers report, fed to the core. */
  readonly workerReports: WorkerReports;
  /** Jobs, DAGs and workers as the core and the store know them. */
  readonly reads: JobReads;
  readonly kv: KvStore;
  readonly legacyNames: LegacyNames;
  /** What the janitor may do to a job its worker did not end. */
  readonly reaps: JanitorReaps;
  /** Holds writes (and their effects) back while the disk is full; refuses new work meanwhile. */
  readonly storeGuard: StoreGuard;
  readonly artifacts: ArtifactBytes;
  /** Jobs' output into the store, capped per job (--max-log-size). */
  readonly logs: LogIntake;
  /** Deletes finished history past --retention, in small batches (`titan gc` runs a pass now). */
  readonly retention: Retention;
  readonly watchers = new JobWatchers();
  /** Decisions of one KV approval gate, one at a time (its check and its write are two store calls). */
  readonly gateDecisions = new KeyedSerial();
  readonly deadlines = new Deadlines();
  /** How late delay timers fire, for `titan stats` and the bench. */
  readonly timerSkew = new TimerSkew();
  /** Stalls of the master's own loop, so it does not blame workers for heartbeats it could not read. */
  readonly loopLag = new LoopLag();
  readonly services = new ServiceDirectory();
  readonly schedules: Schedules;
  /** Load and free memory from each worker's last heartbeat. */
  readonly vitals = new WorkerVitals();
  /** Recent job transitions for live HTTP clients and /metrics. */
  readonly feed = new EventFeed();
  /** What workers said of themselves at registration, for `titan workers`. */
  readonly workerMeta = new Map<string, { version: string; startedAt: number | null; pid: number }>();
  readonly token: string;
  /** Identities, roles, rate limits and the audit ledger (docs/SECURITY.md). */
  readonly security: Security;
  readonly startedAt = Date.now();
  /** Depth and entry limits on every body decoded from TCP and HTTP. */
  readonly bodyLimits: BodyLimits;
  /** Inference routing across the workers started with --inference (docs/INFERENCE.md). */
  readonly inference: InferencePort;
  readonly options: MasterOptions;
  readonly log: Logger;
  /** The autoscaler's explanations, once one is plugged in. */
  scaling: ScalingView = NO_SCALING;
  private readonly observers: WorkerObserver[] = [];
  private readonly workerPeers = new Map<string, Peer>();
  /** Jobs the core placed whose dispatch waits for its commit: their workers cannot hold them yet. */
  private readonly dispatchesAwaitingCommit = new Set<string>();
  /** True once state is recovered and every port accepts connections (`/readyz`). */
  ready = false;
  private closed = false;

  constructor(parts: MasterParts) {
    const { options, log } = parts;
    this.options = options;
    this.log = log;
    this.token = parts.token;
    this.store = parts.store;
    this.security = parts.security;
    this.inference = parts.inference;
    this.bodyLimits = options.bodyLimits ?? DEFAULT_BODY_LIMITS;
    this.storeGuard = new StoreGuard(
      parts.store,
      options.dataDir,
      log,
      (batch) => this.perform(batch),
      (seconds) => this.feed.storeWrote(seconds),
    );
    if (parts.onStoreFailure !== undefined) this.storeGuard.onFailure = parts.onStoreFailure;
    this.artifacts = parts.artifacts;
    this.logs = new LogIntake(this.store, options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES);
    this.retention = new Retention(this.store, this.artifacts, options.retentionMs ?? DEFAULT_RETENTION_MS, log, options.retentionIntervalMs);
    this.scheduler = new Scheduler();
    const ports = jobPorts({
      scheduler: this.scheduler,
      store: this.store,
      apply: (effects, schedules) => this.apply(effects, schedules),
      applyAndWait: (effects, schedules) => this.applyAndWait(effects, schedules),
      applyAcknowledged: (effects) => this.applyAcknowledged(effects),
      refuseWhenStoreFull: () => this.refuseWhenStoreFull(),
      explainedWait: (job, now) => this.scaling.explain(job.spec.requirement, this.scheduler.waitingReason(job, now)),
    });
    ({ commands: this.commands, workerReports: this.workerReports, reads: this.reads, kv: this.kv, legacyNames: this.legacyNames, reaps: this.reaps } = ports);
    this.schedules = new Schedules(this, ports.schedules);
    this.security.attachJobs((id) => this.scheduler.job(id));
    this.observe({ workerDisconnected: (workerId, why) => this.inference.workerGone(workerId, why) });
  }

  /** Plugs in a part to be told of workers and changes (the composition root does, before start). */
  observe(observer: WorkerObserver): void {
    this.observers.push(observer);
  }

  /** Tells every observer; the names are WorkerObserver's. */
  tell<K extends keyof WorkerObserver>(event: K, ...args: Parameters<NonNullable<WorkerObserver[K]>>): void {
    for (const observer of this.observers) (observer[event] as ((...a: typeof args) => void) | undefined)?.apply(observer, args);
  }

  /** The store's size, for /metrics. */
  storeBytes(): Promise<StoreBytes> {
    return this.store.storeBytes();
  }

  /** Rebuilds state from the store and starts the master's own timers; the composition root opens the ports once it resolves. */
  async recover(): Promise<void> {
    this.storeGuard.start();
    const { lastJobSeq, lastDagSeq, active, dags, parentStates } = await readForRecovery(this.store, this.log);
    this.scheduler.continueNumbering(lastJobSeq, lastDagSeq);
    const now = Date.now();
    this.apply(this.scheduler.recover(active, dags, parentStates, now));
    const held = active.filter((j) => j.state === 'assigned' || j.state === 'running').length;
    if (held > 0) {
      // Workers that ran these get one heartbeat timeout to reconnect and claim them.
      this.deadlines.set('adoption', now + this.options.heartbeatTimeoutMs, () => {
        this.apply(this.scheduler.adoptionDeadlinePassed(Date.now()));
      });
    }
    this.log.info({ active: active.length, dags: dags.length, awaitingWorkers: held }, 'state recovered from the store');
    this.loopLag.start();
    this.retention.start();
    await this.schedules.start();
  }

  /** From now on a lost worker is not acted on: the process is going down. */
  beginClose(): void {
    this.closed = true;
    this.ready = false;
  }

  /** Stops the master's own timers and the store guard; the store itself is closed by its owner. */
  close(): void {
    this.beginClose();
    this.deadlines.close();
    this.loopLag.stop();
    this.retention.stop();
    this.storeGuard.close();
  }

  newJobId(): string {
    return randomBytes(6).toString('hex');
  }

  /**
   * Persists the transitions (and the schedules they fire for) with the rest of this tick, then
   * performs the rest in order. For changes nobody is answered about (timers, worker reports whose
   * answer does not wait): a store error is logged, as the change then lives in memory only.
   */
  apply(effects: readonly Effect[], schedules: readonly ScheduleRecord[] = []): void {
    this.commit(effects, schedules).catch((err: unknown) => this.log.error({ err }, 'a store write failed; the change is in memory only'));
  }

  /** apply() for a change a reply waits for: resolves true once on disk, false when a full disk holds it (it is written later). */
  async applyAndWait(effects: readonly Effect[], schedules: readonly ScheduleRecord[] = []): Promise<boolean> {
    try {
      return (await this.commit(effects, schedules)) === 'committed';
    } catch (err) {
      throw this.storeError(err);
    }
  }

  /** Throws E_STORE_FULL while the disk is full: nothing new is accepted that could not be kept. */
  refuseWhenStoreFull(): void {
    if (this.storeGuard.isFull) throw storeFullError(this.options.dataDir);
  }

  /** apply() for a request about to be answered ok: a change held back by a full disk is answered E_STORE_FULL instead. */
  async applyAcknowledged(effects: readonly Effect[]): Promise<void> {
    if (await this.applyAndWait(effects)) return;
    throw new TitanError(
      ErrorCode.STORE_FULL,
      `the master's disk filled up while accepting this (data dir ${this.options.dataDir}); it is held in memory and will be written and run once space is freed there: do not submit it again`,
    );
  }

  /** Resolves once every change accepted so far is on disk (or held by a full disk): the store may then close. */
  drain(): Promise<void> {
    return this.storeGuard.drain();
  }

  private commit(effects: readonly Effect[], schedules: readonly ScheduleRecord[]): Promise<CommitOutcome> {
    if (effects.length === 0 && schedules.length === 0) return Promise.resolve('committed');
    const writes = [];
    const dags = new Set<Dag>();
    const dispatching: string[] = [];
    for (const effect of effects) {
      if (effect.type === 'persist') writes.push({ job: effect.job, event: effect.event });
      else if (effect.type === 'persistDag') dags.add(effect.dag);
      else if (effect.type === 'dispatch') dispatching.push(effect.job.id);
    }
    for (const jobId of dispatching) this.dispatchesAwaitingCommit.add(jobId);
    const committed = this.storeGuard.commit({ writes, dags: [...dags], schedules, effects });
    if (dispatching.length === 0) return committed;
    return committed.catch((err: unknown) => {
      for (const jobId of dispatching) this.dispatchesAwaitingCommit.delete(jobId);
      throw err;
    });
  }

  /** A store error as the request's answer: a full disk named with the data dir, anything else logged as internal. */
  private storeError(err: unknown): TitanError {
    const error = asTitanError(err, this.options.dataDir);
    if (error.code === ErrorCode.INTERNAL) this.log.error({ err }, 'a store write failed');
    return error;
  }

  /** What follows a batch's commit: live feeds, then dispatches, kills and notifications in order. */
  private perform(batch: StoreBatch): void {
    for (const write of batch.writes) this.feed.publish(write.job, write.event);
    for (const effect of batch.effects) {
      switch (effect.type) {
        case 'persist':
        case 'persistDag':
          break;
        case 'dagFinished':
          this.watchers.dagFinished(effect.dag);
          break;
        case 'wake': {
          const at = effect.at;
          this.deadlines.set('wake', at, () => {
            const now = Date.now();
            this.timerSkew.record(now - at);
            this.apply(this.scheduler.wake(now));
          });
          break;
        }
        case 'dispatch':
          this.dispatchesAwaitingCommit.delete(effect.job.id);
          // A dispatch held back by a full disk may have been overtaken (its worker lost meanwhile).
          if (effect.job.state === 'assigned' && effect.job.workerId === effect.workerId) this.dispatch(effect.workerId, effect.job);
          break;
        case 'kill':
          this.workerPeers
            .get(effect.workerId)
            ?.notify(Opcode.JOB_KILL, { jobId: effect.jobId, attempt: effect.attempt, reason: effect.reason ?? 'cancelled or superseded' });
          break;
        case 'finished':
          this.services.forget(effect.job.id);
          this.watchers.jobFinished(effect.job);
          this.watchers.logsAppended(effect.job.id);
          break;
        default: {
          const unreachable: never = effect;
          throw new Error(`unhandled effect ${JSON.stringify(unreachable)}`);
        }
      }
    }
    this.tell('changed');
  }

  /** True while the job's dispatch waits for its commit (its worker cannot report it yet). */
  awaitsDispatch(jobId: string): boolean {
    return this.dispatchesAwaitingCommit.has(jobId);
  }

  peerOf(workerId: string): Peer | undefined {
    return this.workerPeers.get(workerId);
  }

  attachWorker(workerId: string, peer: Peer): void {
    const previous = this.workerPeers.get(workerId);
    if (previous !== undefined && previous !== peer) previous.close();
    this.workerPeers.set(workerId, peer);
    this.tell('workerAttached', workerId);
    this.armHeartbeat(workerId);
  }

  /** Asks a connected worker to drain and exit; false when it is not connected. */
  stopWorker(workerId: string): boolean {
    const peer = this.workerPeers.get(workerId);
    if (peer === undefined) return false;
    this.scheduler.drainWorker(workerId);
    peer.notify(Opcode.WORKER_STOP, {});
    return true;
  }

  /**
   * The worker's connection closed. Attempts it holds may still run (a cut cable, not a dead
   * worker): they stay its own until it re-registers or its heartbeat deadline passes, when its
   * lease has run out for sure (docs/RELIABILITY.md). A worker holding nothing is lost at once.
   */
  detachWorker(workerId: string, peer: Peer, why: string): void {
    if (this.workerPeers.get(workerId) !== peer) return;
    this.workerPeers.delete(workerId);
    this.tell('workerDisconnected', workerId, why);
    if (this.closed) return;
    const { holding, effects } = this.scheduler.workerUnreachable(workerId, Date.now(), why);
    if (holding) {
      this.log.warn({ workerId, why }, 'worker unreachable; its attempts stay its own until its lease runs out');
      return;
    }
    this.deadlines.clear(`worker:${workerId}`);
    this.log.warn({ workerId, why }, 'worker lost');
    this.apply(effects);
    this.tell('workerLost', workerId);
  }

  armHeartbeat(workerId: string): void {
    if (!this.workerPeers.has(workerId)) return;
    const armedAt = Date.now();
    const timeout = this.options.heartbeatTimeoutMs;
    const expire = (): void => {
      const stalled = this.loopLag.stalledSince(armedAt);
      const later = extendedHeartbeatDeadline(armedAt, timeout, stalled, Date.now(), this.options.heartbeatIntervalMs);
      if (later === null) return this.heartbeatMissed(workerId);
      this.log.info({ workerId, deafMs: stalled }, 'heartbeat deadline extended: the master itself was stalled');
      this.deadlines.set(`worker:${workerId}`, later, expire);
    };
    this.deadlines.set(`worker:${workerId}`, armedAt + timeout, expire);
  }

  /** The last heartbeat is older than the timeout: the worker's lease has run out, its attempts run again. */
  private heartbeatMissed(workerId: string): void {
    const why = `no heartbeat for ${this.options.heartbeatTimeoutMs} ms`;
    const peer = this.workerPeers.get(workerId);
    if (peer !== undefined) {
      this.workerPeers.delete(workerId);
      this.tell('workerDisconnected', workerId, why);
      peer.close();
    }
    if (this.closed) return;
    this.log.warn({ workerId, why }, 'worker lost');
    this.apply(this.scheduler.workerLost(workerId, Date.now(), why));
    this.tell('workerLost', workerId);
  }

  private dispatch(workerId: string, job: Job): void {
    const peer = this.workerPeers.get(workerId);
    // Without a peer the worker is already being detached, which re-queues the job.
    if (peer !== undefined) this.tell('dispatched', workerId, job.id);
    peer?.notify(Opcode.JOB_DISPATCH, dispatchMessage(job, this.services, this.security.jobToken(job.id, job.attempt)));
  }
}
