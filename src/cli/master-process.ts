import { join } from 'node:path';
import { makePrivateDir } from '../common/private-files.js';
import type { Logger } from '../common/log.js';
import { HttpApi } from '../http/server.js';
import { DEFAULT_INFERENCE, type InferenceOptions } from '../inference/config.js';
import { InferenceCoordinator } from '../inference/coordinator.js';
import { GrpcApi } from '../inference/grpc-server.js';
import { masterInferencePort } from '../inference/master-handlers.js';
import type { InferenceHost } from '../inference/service.js';
import { Autoscaler } from '../master/autoscaler.js';
import { DataDirLock } from '../store/data-dir-lock.js';
import { Janitor, JANITOR_DEFAULTS } from '../master/janitor.js';
import { serveLegacyRequest } from '../master/legacy/admit.js';
import { checkLegacyListen, LegacyGate } from '../master/legacy/gate.js';
import { Master } from '../master/master.js';
import type { MasterOptions } from '../master/options.js';
import { janitorOperations, masterReadModel, masterRequests } from '../master/ports.js';
import { TcpListener } from '../master/tcp-listener.js';
import { loadOrCreateToken } from '../master/token.js';
import { checkListenSecurity } from '../security/listen-check.js';
import { DEFAULT_RATE_LIMIT } from '../security/rate-limiter.js';
import { openSqliteSecurityRows, Security, type SecurityOptions } from '../security/security.js';
import { loadServerTls, type ServerTlsMaterial } from '../security/tls.js';
import type { ArtifactBytes } from '../store/artifact-bytes.js';
import { ArtifactFiles } from '../store/artifact-files.js';
import type { AsyncStore } from '../store/async-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { SqliteAsyncStore } from '../store/sqlite-async-store.js';

/** `titan master`'s settings: the master's own, and those of the parts wired around it. */
export interface MasterProcessOptions extends MasterOptions {
  /** Inference routing settings (docs/INFERENCE.md); the defaults when absent. */
  readonly inference?: InferenceOptions;
  /** The SQLite store file (`--store <file>`); the data dir's titan.db by default. */
  readonly storeFile?: string;
}

/** What a master process stands on: its store, artifact bytes, security, the cluster token, and how to let go of them. */
export interface MasterFoundation {
  readonly store: AsyncStore;
  readonly artifacts: ArtifactBytes;
  readonly security: Security;
  readonly token: string;
  /** Called last by close(), once the ledger's last row is written: closes the store, releases its lock. */
  release(): Promise<void>;
  /** Told of a store commit that failed for another reason than a full disk (a leader steps down on it). */
  readonly onStoreFailure?: (err: unknown) => void;
}

/** The embedded default: the data dir's lock (one master per data dir), its token and its SQLite file. */
export function sqliteFoundation(options: MasterProcessOptions, log: Logger): MasterFoundation {
  makePrivateDir(options.dataDir);
  const lock = DataDirLock.acquire(options.dataDir);
  const token = options.token ?? loadOrCreateToken(options.dataDir);
  const file = options.storeFile ?? join(options.dataDir, 'titan.db');
  const sqlite = SqliteStore.open(file);
  const security = new Security(securityOptions(options, token), log, openSqliteSecurityRows(file));
  return {
    store: new SqliteAsyncStore(sqlite),
    artifacts: new ArtifactFiles(artifactsDir(options)),
    security,
    token,
    release: async () => {
      sqlite.close();
      lock.release();
    },
  };
}

/** Where a master keeps artifact files (on PostgreSQL, its mirror of the table). */
export function artifactsDir(options: MasterProcessOptions): string {
  return join(options.dataDir, 'artifacts');
}

/** Security's settings, on whichever store. */
export function securityOptions(options: MasterProcessOptions, token: string): SecurityOptions {
  return {
    dataDir: options.dataDir,
    clusterToken: token,
    rateLimit: options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit,
    namespaceQuotas: options.namespaceQuotas ?? new Map(),
  };
}

/**
 * The one place a master process is wired (docs/ARCHITECTURE.md, "Wiring"): it builds the store,
 * security, inference routing, the master, the janitor and autoscaler, the TCP port with its v1
 * gate, and the HTTP and gRPC APIs, and hands each the master's narrow ports (master/ports.ts).
 * `titan master`, `titan up`, the tests and the bench all get a master from here.
 */
export class MasterProcess {
  readonly master: Master;
  readonly security: Security;
  readonly token: string;
  /** The HTTP API when --http; built now so tests can drive it before it listens. */
  readonly http: HttpApi | null;
  readonly grpc: GrpcApi | null;
  /** The TLS certificates every port serves, when --tls. */
  readonly tls: ServerTlsMaterial | null;
  /** The bound ports once started (0 until then). */
  port = 0;
  httpPort = 0;
  grpcPort = 0;
  private readonly inference: InferenceCoordinator;
  private readonly janitor: Janitor;
  private readonly legacy: LegacyGate;
  private readonly tcp: TcpListener;
  private readonly foundation: MasterFoundation;
  private closed = false;

  /** `foundation` is called once the settings passed their checks (SQLite in the data dir by default). */
  constructor(
    readonly options: MasterProcessOptions,
    readonly log: Logger,
    foundation: (options: MasterProcessOptions, log: Logger) => MasterFoundation = sqliteFoundation,
  ) {
    // Every refusal of the settings comes before anything is written to the data dir.
    checkListenSecurity({
      host: options.host,
      ...(options.http !== undefined ? { httpHost: options.http.host } : {}),
      ...(options.grpc !== undefined ? { grpcHost: options.grpc.host } : {}),
      tls: options.tls !== undefined,
      insecure: options.insecure === true,
      allowLegacy: options.allowLegacyUnauthenticated === true,
    });
    checkLegacyListen(options.host, options.allowLegacyUnauthenticated === true);
    this.tls = options.tls === undefined ? null : loadServerTls(options.tls);
    this.foundation = foundation(options, log);
    this.token = this.foundation.token;
    this.security = this.foundation.security;
    this.inference = new InferenceCoordinator(options.inference ?? DEFAULT_INFERENCE, log);
    const inferenceHost = this.inferenceHost();
    const master = new Master({
      options,
      log,
      store: this.foundation.store,
      artifacts: this.foundation.artifacts,
      ...(this.foundation.onStoreFailure !== undefined ? { onStoreFailure: this.foundation.onStoreFailure } : {}),
      security: this.security,
      token: this.token,
      inference: masterInferencePort(inferenceHost),
    });
    this.master = master;
    this.janitor = new Janitor(janitorOperations(master), options.janitor ?? JANITOR_DEFAULTS);
    master.observe(this.janitor);
    const autoscaler = new Autoscaler(master);
    master.observe(autoscaler);
    master.scaling = autoscaler;
    this.legacy = new LegacyGate({
      options,
      security: this.security,
      log,
      serve: (identity, request, source) => serveLegacyRequest(master, master.legacyNames, identity, request, source),
    });
    this.tcp = new TcpListener(master, (socket, native) => this.legacy.route(socket, native), this.tls);
    // A revoked token's open connections end now, not at their next request.
    this.security.onRevoke((tokenId) => this.tcp.closeSessionsOf(tokenId));
    const api = {
      requests: masterRequests(master),
      reads: masterReadModel(master),
      security: this.security,
      inference: inferenceHost,
      log,
      tls: this.tls,
      bodyLimits: master.bodyLimits,
    };
    this.http = options.http === undefined ? null : new HttpApi(api);
    this.grpc = options.grpc === undefined ? null : new GrpcApi(inferenceHost, this.security, this.tls);
  }

  /** Recovers the master's state from the store, then opens every port. Resolves with the TCP port. */
  async start(): Promise<number> {
    const { options, log, master } = this;
    await master.recover();
    this.janitor.start();
    await this.inference.start(options.dataDir);
    this.port = await this.tcp.listen(options.host, options.port);
    log.info({ host: options.host, port: this.port, tls: this.tls !== null, mtls: options.tls?.mtls === true }, 'master listening');
    if (this.http !== null && options.http !== undefined) {
      this.httpPort = await this.http.listen(options.http);
      log.info({ host: options.http.host, port: this.httpPort }, 'http api listening');
    }
    if (this.grpc !== null && options.grpc !== undefined) {
      this.grpcPort = await this.grpc.listen(options.grpc);
      log.info({ host: options.grpc.host, port: this.grpcPort }, 'grpc api listening');
    }
    master.ready = true;
    const secured = this.tls === null ? '' : options.tls?.mtls === true ? ' (mTLS)' : ' (TLS)';
    this.security.recordSystem('MASTER_START', `listening on ${options.host}:${this.port}${secured}`);
    return this.port;
  }

  /** Closes the front ends first, then the master, then what it stood on; the ledger's last row says so. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.master.beginClose();
    await this.http?.close();
    await this.grpc?.close();
    this.inference.close();
    this.master.close();
    this.janitor.close();
    this.legacy.close();
    await this.tcp.close();
    await this.master.drain();
    this.security.recordSystem('MASTER_STOP', 'ok');
    await this.security.close();
    await this.foundation.release();
  }

  /** What inference routing (REST, gRPC, the master's inference opcodes) reads of the master. */
  private inferenceHost(): InferenceHost {
    const coordinator = this.inference;
    const process = (): MasterProcess => this;
    return {
      inference: coordinator,
      get ready() {
        return process().master.ready;
      },
      get startedAt() {
        return process().master.startedAt;
      },
      liveWorkerCount: () => process().master.reads.liveWorkers().length,
    };
  }
}

/** Builds a master process from its settings (nothing listens until `start`). */
export function composeMaster(options: MasterProcessOptions, log: Logger): MasterProcess {
  return new MasterProcess(options, log);
}
