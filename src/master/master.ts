import { createServer, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makePrivateDir } from '../common/private-files.js';
import type { Logger } from '../common/log.js';
import { ErrorCode, storeFullError, TitanError } from '../common/errors.js';
import { Scheduler } from '../core/scheduler.js';
import type { Effect } from '../core/effects.js';
import type { Job } from '../core/job.js';
import type { Dag } from '../core/dag.js';
import type { ScheduleRecord, Store } from '../store/store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { Opcode, isKnownOpcode } from '../protocol/opcodes.js';
import { Peer } from '../protocol/peer.js';
import { tcpTransport } from '../protocol/transport.js';
import { DEFAULT_BODY_LIMITS, PRE_AUTH_MAX_FRAME, type BodyLimits } from '../protocol/body-limits.js';
import { ArtifactStore } from './artifacts.js';
import { Deadlines } from './deadlines.js';
import { JobWatchers } from './job-watchers.js';
import { LogIntake } from './log-intake.js';
import { DEFAULT_MAX_LOG_BYTES } from '../common/log-cap.js';
import type { MasterOptions } from './options.js';
import { loadOrCreateToken } from './token.js';
import { Session } from './session.js';
import { LegacyGate } from './legacy/gate.js';
import { ServiceDirectory } from './service-directory.js';
import { dispatchMessage } from './dispatch-message.js';
import { Schedules } from './schedules.js';
import { HttpApi } from '../http/server.js';
import { Janitor, JANITOR_DEFAULTS } from './janitor.js';
import { InferenceCoordinator } from '../inference/coordinator.js';
import { DEFAULT_INFERENCE } from '../inference/config.js';
import { GrpcApi } from '../inference/grpc-server.js';
import { Autoscaler } from './autoscaler.js';
import { TimerSkew } from './timer-skew.js';
import { extendedHeartbeatDeadline, LoopLag } from './loop-lag.js';
import { DataDirLock } from './data-dir-lock.js';
import { DEFAULT_RETENTION_MS, Retention } from './retention.js';
import { EventFeed } from './event-feed.js';
import { WorkerVitals } from './worker-vitals.js';
import { StoreGuard, type StoreBatch } from './store-guard.js';
import { Security } from '../security/security.js';
import { DEFAULT_RATE_LIMIT } from '../security/rate-limiter.js';
import { checkListenSecurity } from '../security/listen-check.js';
import { loadServerTls, peerSubject, tlsServer, type ServerTlsMaterial } from '../security/tls.js';

/**
 * The control plane process: owns the scheduling core, the store and every connection, and
 * applies the core's effects (persist first, then talk to workers and waiters).
 */
/** Why a connection's first frame was refused for its size: nothing bigger is read before AUTH. */
const PRE_AUTH_HINT = `until AUTH succeeds a connection may send only frames of at most ${PRE_AUTH_MAX_FRAME} bytes; send AUTH (token, role, name) first`;

export class Master {
  readonly scheduler: Scheduler;
  readonly store: Store;
  /** Holds writes (and their effects) back while the disk is full; refuses new work meanwhile. */
  readonly storeGuard: StoreGuard;
  readonly artifacts: ArtifactStore;
  /** Jobs' output into the store, capped per job (--max-log-size). */
  readonly logs: LogIntake;
  /** Deletes finished history past --retention, in small batches (`titan gc` runs a pass now). */
  readonly retention: Retention;
  readonly watchers = new JobWatchers();
  readonly deadlines = new Deadlines();
  /** How late delay timers fire, for `titan stats` and the bench. */
  readonly timerSkew = new TimerSkew();
  /** Stalls of the master's own loop, so it does not blame workers for heartbeats it could not read. */
  readonly loopLag = new LoopLag();
  readonly services = new ServiceDirectory();
  readonly schedules: Schedules = new Schedules(this);
  readonly janitor: Janitor;
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
  readonly inference: InferenceCoordinator;
  private readonly workerPeers = new Map<string, Peer>();
  private readonly sessions = new Set<Session>();
  /** Sniffs each connection's first byte; serves the original Titan's protocol v1 (docs/COMPAT.md). */
  private readonly legacy: LegacyGate;
  readonly autoscaler: Autoscaler;
  private server: Server | null = null;
  /** The TLS certificates both ports serve, when --tls. */
  readonly tls: ServerTlsMaterial | null;
  private http: HttpApi | null = null;
  private grpc: GrpcApi | null = null;
  /** The HTTP port once bound (0 while none is). */
  httpPort = 0;
  /** The gRPC port once bound (0 while none is). */
  grpcPort = 0;
  /** True once state is recovered and both ports accept connections (`/readyz`). */
  ready = false;
  private closed = false;
  /** Held for the master's life: a second master on the same data dir refuses to start. */
  private readonly dataDirLock: DataDirLock;

  constructor(
    readonly options: MasterOptions,
    readonly log: Logger,
  ) {
    checkListenSecurity({
      host: options.host,
      ...(options.http !== undefined ? { httpHost: options.http.host } : {}),
      ...(options.grpc !== undefined ? { grpcHost: options.grpc.host } : {}),
      tls: options.tls !== undefined,
      insecure: options.insecure === true,
      allowLegacy: options.allowLegacyUnauthenticated === true,
    });
    this.tls = options.tls === undefined ? null : loadServerTls(options.tls);
    this.bodyLimits = options.bodyLimits ?? DEFAULT_BODY_LIMITS;
    this.legacy = new LegacyGate(this);
    this.janitor = new Janitor(this, options.janitor ?? JANITOR_DEFAULTS);
    this.autoscaler = new Autoscaler(this);
    makePrivateDir(options.dataDir);
    this.dataDirLock = DataDirLock.acquire(options.dataDir);
    this.token = options.token ?? loadOrCreateToken(options.dataDir);
    this.store = SqliteStore.open(join(options.dataDir, 'titan.db'));
    this.storeGuard = new StoreGuard(this.store, options.dataDir, log, (batch) => this.perform(batch));
    this.security = new Security(
      {
        dataDir: options.dataDir,
        clusterToken: this.token,
        rateLimit: options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit,
        namespaceQuotas: options.namespaceQuotas ?? new Map(),
      },
      log,
    );
    // A revoked token's open connections end now, not at their next request.
    this.security.onRevoke((tokenId) => {
      for (const session of this.sessions) if (session.identity?.tokenId === tokenId) session.close();
    });
    this.artifacts = new ArtifactStore(join(options.dataDir, 'artifacts'));
    this.logs = new LogIntake(this.store, options.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES);
    this.retention = new Retention(this.store, this.artifacts, options.retentionMs ?? DEFAULT_RETENTION_MS, log, options.retentionIntervalMs);
    this.scheduler = new Scheduler(this.store.maxJobSeq() + 1, this.store.maxDagSeq() + 1);
    this.security.attachJobs((id) => this.scheduler.job(id));
    this.inference = new InferenceCoordinator(options.inference ?? DEFAULT_INFERENCE, log);
  }

  liveWorkerCount(): number {
    return this.scheduler.liveWorkers().length;
  }

  /** Rebuilds state from the store, then listens. Resolves with the bound port. */
  async start(): Promise<number> {
    this.storeGuard.start();
    const active = this.store.loadActiveJobs();
    const dags = this.store.loadActiveDags();
    const activeIds = new Set(active.map((j) => j.id));
    const finishedParents = active.flatMap((j) => (j.state === 'pending' ? (j.spec.parents ?? []) : [])).filter((p) => !activeIds.has(p));
    const now = Date.now();
    this.apply(this.scheduler.recover(active, dags, this.store.jobStates([...new Set(finishedParents)]), now));
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
    this.schedules.start();
    this.janitor.start();
    await this.inference.start(this.options.dataDir);
    // Over TLS the legacy v1 protocol (plain text, no token) is not offered, so there is nothing to sniff.
    const tls = this.tls;
    const server = tls === null ? createServer((socket) => this.accept(socket)) : tlsServer(tls, (socket) => this.acceptSecure(socket));
    if (tls !== null) server.on('tlsClientError', (err, socket) => this.log.warn({ from: socket.remoteAddress, err: err.message }, 'refused a TLS handshake'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.options.port;
    this.log.info({ host: this.options.host, port, tls: tls !== null, mtls: this.options.tls?.mtls === true }, 'master listening');
    if (this.options.http !== undefined) {
      this.http = new HttpApi(this);
      this.httpPort = await this.http.listen(this.options.http);
      this.log.info({ host: this.options.http.host, port: this.httpPort }, 'http api listening');
    }
    if (this.options.grpc !== undefined) {
      this.grpc = new GrpcApi(this, this.tls);
      this.grpcPort = await this.grpc.listen(this.options.grpc);
      this.log.info({ host: this.options.grpc.host, port: this.grpcPort }, 'grpc api listening');
    }
    this.ready = true;
    this.security.recordSystem('MASTER_START', `listening on ${this.options.host}:${port}${tls !== null ? (this.options.tls?.mtls === true ? ' (mTLS)' : ' (TLS)') : ''}`);
    return port;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    await this.http?.close();
    await this.grpc?.close();
    this.inference.close();
    this.deadlines.close();
    this.loopLag.stop();
    this.retention.stop();
    this.janitor.close();
    this.storeGuard.close();
    for (const session of this.sessions) session.close();
    this.legacy.close();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.security.recordSystem('MASTER_STOP', 'ok');
    this.security.close();
    this.store.close();
    this.dataDirLock.release();
  }

  newJobId(): string {
    return randomBytes(6).toString('hex');
  }

  /** Persists the transitions (and the schedules they fire for) in one transaction, then performs the rest in order. */
  /**
   * Returns whether the changes are on disk now; on a full disk they are held, their effects
   * deferred until they commit (StoreGuard), and the caller must not acknowledge them.
   */
  apply(effects: readonly Effect[], schedules: readonly ScheduleRecord[] = []): boolean {
    if (effects.length === 0 && schedules.length === 0) return true;
    const writes = [];
    const dags = new Set<Dag>();
    for (const effect of effects) {
      if (effect.type === 'persist') writes.push({ job: effect.job, event: effect.event });
      else if (effect.type === 'persistDag') dags.add(effect.dag);
    }
    const began = performance.now();
    const committed = this.storeGuard.commit({ writes, dags: [...dags], schedules, effects });
    if (committed && (writes.length > 0 || dags.size > 0 || schedules.length > 0)) this.feed.storeWrote((performance.now() - began) / 1000);
    return committed;
  }

  /** Throws E_STORE_FULL while the disk is full: nothing new is accepted that could not be kept. */
  refuseWhenStoreFull(): void {
    if (this.storeGuard.isFull) throw storeFullError(this.options.dataDir);
  }

  /** apply() for a request about to be answered ok: a change held back by a full disk is answered E_STORE_FULL instead. */
  applyAcknowledged(effects: readonly Effect[]): void {
    if (this.apply(effects)) return;
    throw new TitanError(ErrorCode.STORE_FULL, `the master's disk filled up while accepting this (data dir ${this.options.dataDir}); it is held in memory and will be written and run once space is freed there: do not submit it again`);
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
          // A dispatch held back by a full disk may have been overtaken (its worker lost meanwhile).
          if (effect.job.state === 'assigned' && effect.job.workerId === effect.workerId) this.dispatch(effect.workerId, effect.job);
          break;
        case 'kill':
          this.workerPeers.get(effect.workerId)?.notify(Opcode.JOB_KILL, { jobId: effect.jobId, attempt: effect.attempt, reason: effect.reason ?? 'cancelled or superseded' });
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
    this.autoscaler.changed();
  }

  peerOf(workerId: string): Peer | undefined {
    return this.workerPeers.get(workerId);
  }

  attachWorker(workerId: string, peer: Peer): void {
    const previous = this.workerPeers.get(workerId);
    if (previous !== undefined && previous !== peer) previous.close();
    this.workerPeers.set(workerId, peer);
    this.janitor.forget(workerId);
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
    this.janitor.forget(workerId);
    this.inference.remove(workerId, why);
    if (this.closed) return;
    const { holding, effects } = this.scheduler.workerUnreachable(workerId, Date.now(), why);
    if (holding) {
      this.log.warn({ workerId, why }, 'worker unreachable; its attempts stay its own until its lease runs out');
      return;
    }
    this.deadlines.clear(`worker:${workerId}`);
    this.log.warn({ workerId, why }, 'worker lost');
    this.apply(effects);
    this.autoscaler.workerDetached(workerId);
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
      this.janitor.forget(workerId);
      this.inference.remove(workerId, why);
      peer.close();
    }
    if (this.closed) return;
    this.log.warn({ workerId, why }, 'worker lost');
    this.apply(this.scheduler.workerLost(workerId, Date.now(), why));
    this.autoscaler.workerDetached(workerId);
  }

  private dispatch(workerId: string, job: Job): void {
    const peer = this.workerPeers.get(workerId);
    // Without a peer the worker is already being detached, which re-queues the job.
    if (peer !== undefined) this.janitor.dispatched(workerId, job.id);
    peer?.notify(Opcode.JOB_DISPATCH, dispatchMessage(job, this.services, this.security.jobToken(job.id, job.attempt)));
  }

  private accept(socket: Socket): void {
    this.legacy.route(socket, (native) => this.acceptNative(native));
  }

  private acceptSecure(socket: TLSSocket): void {
    this.acceptNative(socket, peerSubject(socket));
  }

  private acceptNative(socket: Socket, certificate?: { commonName: string | null; unit: string | null }): void {
    const peer = new Peer(tcpTransport(socket), { maxFrameSize: this.options.maxFrameSize, isKnownOpcode, logger: this.log, bodyLimits: this.bodyLimits });
    peer.limitIncomingFrames(PRE_AUTH_MAX_FRAME, PRE_AUTH_HINT);
    const session = new Session(this, peer, certificate);
    this.sessions.add(session);
    peer.onClose(() => this.sessions.delete(session));
  }
}
