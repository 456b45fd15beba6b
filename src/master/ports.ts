import type { Logger } from '../common/log.js';
import type { Job, JobState } from '../core/job.js';
import type { WorkerHealth } from '../core/worker-record.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import type { ClientContext } from './client-context.js';
import { handleClientMessage } from './client-handlers.js';
import type { EventFeed } from './event-feed.js';
import { agentRun, listAgentRuns, type AgentRunView, type SeesId } from './agent-runs.js';
import { listJobPage, type JobPage } from './job-list.js';
import type { StoreBytes } from '../store/async-store.js';
import type { JobFilter } from '../store/store.js';
import type { DagStatusView } from '../protocol/views.js';
import type { Master } from './master.js';
import { handleSecurityMessage } from './security-requests.js';

/**
 * The master's narrow faces. Callers above it (HTTP, gRPC, inference, the janitor) are given
 * these, never `Master` itself: what they may do is what is listed here.
 */

/** Applies one client request exactly as a TCP session does: the same handler, the same schema check of the body. */
export interface MasterRequests {
  handle(ctx: ClientContext, msg: IncomingMessage, reply: Replier): void;
}

/** A live worker as /metrics counts it. */
export interface WorkerLoad {
  readonly health: WorkerHealth;
  readonly slots: number;
  readonly busySlots: number;
}

/** What the HTTP API reads without a request: probes, /metrics, live events, artifact checks. */
export interface MasterReadModel {
  /** True once state is recovered and every port accepts connections. */
  readonly ready: boolean;
  readonly startedAt: number;
  /** The lease epoch when this master leads several on one PostgreSQL (docs/HA.md); null for a single master. */
  leaderEpoch(): number | null;
  liveWorkers(): WorkerLoad[];
  queueDepths(): Record<string, number>;
  jobCounts(): Promise<Record<JobState, number>>;
  storeStats(): StoreStats;
  /** The store's size (a read of the store). */
  storeBytes(): Promise<StoreBytes>;
  hasArtifact(hash: string): boolean;
  /** Recent job transitions, and each store write's duration. */
  readonly feed: EventFeed;
  /** A page of jobs, newest first, as far as the caller's namespace reaches. */
  jobPage(caller: Pick<ClientContext, 'idPrefix'>, filter: Omit<JobFilter, 'idPrefix'>): Promise<JobPage>;
  /** DAGs grouped by agent_run_id, newest first, as far as `sees` lets the caller see. */
  agentRuns(limit: number, sees: SeesId): Promise<AgentRunView[]>;
  agentRun(agentRunId: string, sees: SeesId): Promise<AgentRunView & { readonly runs: DagStatusView[] }>;
}

export interface StoreStats {
  readonly retention: {
    readonly batchMsMax: number;
    readonly batches: number;
    readonly deleted: Readonly<Record<string, number>>;
    readonly artifactBytesDeleted: number;
  };
  /** The longest stall of the master's loop seen. */
  readonly loopStallMsMax: number;
  /** True while a full disk makes the master refuse new work (E_STORE_FULL). */
  readonly full: boolean;
  /** Batches of changes held in memory until the disk has room. */
  readonly heldBatches: number;
}

/** What the janitor reads and does: running attempts in, reaps and kills out (each applied at once). */
export interface JanitorOperations {
  readonly log: Logger;
  /** Results are refused while the disk is full, so nothing is judged overdue meanwhile. */
  storeFull(): boolean;
  activeJobs(): Iterable<Job>;
  job(id: string): Job | undefined;
  /** job id → attempt of what the master runs on this worker; undefined for a worker it does not know. */
  attemptsRunningOn(workerId: string): Map<string, number> | undefined;
  reapOverdue(jobId: string, now: number, why: string): void;
  reapUnreported(jobId: string, now: number, why: string): void;
  kill(workerId: string, jobId: string, attempt: number, why: string): void;
}

export function masterRequests(master: Master): MasterRequests {
  return {
    handle(ctx, msg, reply) {
      // As a TCP session: the identity's own operations (whoami, tokens, the ledger), else the rest.
      if (ctx.identity === null || !handleSecurityMessage(master, ctx.identity, msg, reply)) handleClientMessage(master, ctx, msg, reply);
    },
  };
}

export function masterReadModel(master: Master): MasterReadModel {
  return {
    get ready() {
      return master.ready;
    },
    startedAt: master.startedAt,
    leaderEpoch: () => master.options.cluster?.epoch ?? null,
    liveWorkers: () => master.reads.liveWorkers().map((w) => ({ health: w.health, slots: w.slots, busySlots: w.running.size })),
    queueDepths: () => master.reads.queueDepths(),
    jobCounts: () => master.reads.countByState(),
    storeStats: () => ({
      retention: {
        batchMsMax: master.retention.batchMsMax,
        batches: master.retention.batches,
        deleted: master.retention.deleted,
        artifactBytesDeleted: master.retention.artifactBytesDeleted,
      },
      loopStallMsMax: master.loopLag.worstMs,
      full: master.storeGuard.isFull,
      heldBatches: master.storeGuard.heldBatches,
    }),
    storeBytes: () => master.storeBytes(),
    hasArtifact: (hash) => master.artifacts.has(hash),
    feed: master.feed,
    jobPage: (caller, filter) => listJobPage(master, caller, filter),
    agentRuns: (limit, sees) => listAgentRuns(master, limit, sees),
    agentRun: (agentRunId, sees) => agentRun(master, agentRunId, sees),
  };
}

export function janitorOperations(master: Master): JanitorOperations {
  const { reads, reaps, commands } = master;
  return {
    log: master.log,
    storeFull: () => master.storeGuard.isFull,
    activeJobs: () => reads.activeJobs(),
    job: (id) => reads.job(id),
    attemptsRunningOn(workerId) {
      const worker = reads.worker(workerId);
      if (worker === undefined) return undefined;
      const expected = new Map<string, number>();
      for (const jobId of worker.running) {
        const job = reads.job(jobId);
        // Placed but not sent yet (its commit is in flight): no heartbeat can list it.
        if (job !== undefined && !master.awaitsDispatch(jobId)) expected.set(jobId, job.attempt);
      }
      return expected;
    },
    reapOverdue: (jobId, now, why) => void commands.apply(reaps.reapOverdue(jobId, now, why)),
    reapUnreported: (jobId, now, why) => void commands.apply(reaps.reapUnreported(jobId, now, why)),
    kill: (workerId, jobId, attempt, why) => void commands.apply([{ type: 'kill', workerId, jobId, attempt, reason: why }]),
  };
}
