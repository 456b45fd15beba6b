import type { Effect } from '../core/effects.js';
import type { Job } from '../core/job.js';
import type { Scheduler } from '../core/scheduler.js';
import type { AsyncStore } from '../store/async-store.js';
import type { ScheduleRecord } from '../store/store.js';

/**
 * The master's inner ports: what its own operations (client, DAG, KV, schedule, service, worker
 * and v1 handlers, schedules, the autoscaler) are given instead of the scheduling core and the
 * store. Each name list below is the whole of what that port lets through.
 */

const CLIENT_COMMANDS = [
  'submit',
  'holdAdmission',
  'releaseAdmission',
  'cancel',
  'createDag',
  'cancelDag',
  'retry',
  'approve',
  'reject',
  'stopService',
  'restartService',
] as const;
const WORKER_REPORTS = ['registerWorker', 'heartbeat', 'jobStarted', 'jobFinished', 'handBack', 'serviceReady', 'drainWorker'] as const;
const CORE_READS = [
  'job',
  'dag',
  'activeJobs',
  'worker',
  'liveWorkers',
  'queueDepths',
  'capacity',
  'waitingReason',
  'awaitingDecision',
  'isAwaitingApproval',
] as const;
const HISTORY_READS = [
  'getJob',
  'getDag',
  'jobsOfDag',
  'jobStates',
  'jobEvents',
  'listJobs',
  'listDags',
  'countByState',
  'readLogs',
  'artifactReachable',
] as const;
const KV = ['kvGet', 'kvPut', 'kvDelete', 'kvSadd', 'kvSmembers', 'kvKeys', 'publishArtifact', 'getKeyedArtifact', 'listKeyedArtifacts'] as const;
const SCHEDULE_RECORDS = ['listSchedules', 'deleteSchedule'] as const;
const LEGACY_NAMES = ['getMeta', 'setMeta', 'getJob'] as const;
const JANITOR_REAPS = ['reapOverdue', 'reapUnreported'] as const;

/**
 * Changing jobs: a command of the core returns effects; `apply` commits them with the rest of the
 * tick, then performs the rest (Master.apply). Nothing is answered before its change is on disk:
 * a reply waits for `applyAndWait` or `applyAcknowledged`.
 */
export interface JobCommands extends Pick<Scheduler, (typeof CLIENT_COMMANDS)[number]> {
  /** Commits and performs in the background; a store error is logged. */
  apply(effects: readonly Effect[], schedules?: readonly ScheduleRecord[]): void;
  /** Resolves true once the changes are on disk and performed, false when a full disk holds them (written later). */
  applyAndWait(effects: readonly Effect[], schedules?: readonly ScheduleRecord[]): Promise<boolean>;
  /** applyAndWait() for a request about to be answered ok: a change held back by a full disk rejects with E_STORE_FULL. */
  applyAcknowledged(effects: readonly Effect[]): Promise<void>;
  /** Throws E_STORE_FULL while the disk is full. */
  refuseWhenStoreFull(): void;
}

/** What workers report, fed to the core; the effects go to `JobCommands.apply`. */
export type WorkerReports = Pick<Scheduler, (typeof WORKER_REPORTS)[number]>;

/** The read model: active jobs, DAGs and workers from the core's memory (at once), the rest from the store (promised). */
export interface JobReads extends Pick<Scheduler, (typeof CORE_READS)[number]>, Pick<AsyncStore, (typeof HISTORY_READS)[number]> {
  /** Why an active job waits, with what the autoscaler will do about it. */
  explainedWait(job: Job, now: number): string | null;
}

/** The KV store (strings and sets) and the artifacts published under a key. */
export type KvStore = Pick<AsyncStore, (typeof KV)[number]>;

/** Where cron schedules are kept. */
export type ScheduleRecords = Pick<AsyncStore, (typeof SCHEDULE_RECORDS)[number]>;

/** Where the names protocol v1 clients know jobs by are kept (legacy/names.ts). */
export type LegacyNames = Pick<AsyncStore, (typeof LEGACY_NAMES)[number]>;

/** What the janitor may do to a running job its worker did not end (ports.ts `JanitorOperations`). */
export type JanitorReaps = Pick<Scheduler, (typeof JANITOR_REAPS)[number]>;

/** The parts of the master the ports are cut from. */
export interface PortSources {
  readonly scheduler: Scheduler;
  readonly store: AsyncStore;
  apply: JobCommands['apply'];
  applyAndWait: JobCommands['applyAndWait'];
  applyAcknowledged: JobCommands['applyAcknowledged'];
  refuseWhenStoreFull: JobCommands['refuseWhenStoreFull'];
  explainedWait: JobReads['explainedWait'];
}

export interface JobPorts {
  readonly commands: JobCommands;
  readonly workerReports: WorkerReports;
  readonly reads: JobReads;
  readonly kv: KvStore;
  readonly schedules: ScheduleRecords;
  readonly legacyNames: LegacyNames;
  readonly reaps: JanitorReaps;
}

/** Cuts the ports from the core and the store (Master's constructor does, once). */
export function jobPorts(from: PortSources): JobPorts {
  const { scheduler, store } = from;
  return {
    commands: {
      ...only(scheduler, CLIENT_COMMANDS),
      apply: from.apply,
      applyAndWait: from.applyAndWait,
      applyAcknowledged: from.applyAcknowledged,
      refuseWhenStoreFull: from.refuseWhenStoreFull,
    },
    workerReports: only(scheduler, WORKER_REPORTS),
    reads: { ...only(scheduler, CORE_READS), ...only(store, HISTORY_READS), explainedWait: from.explainedWait },
    kv: only(store, KV),
    schedules: only(store, SCHEDULE_RECORDS),
    legacyNames: only(store, LEGACY_NAMES),
    reaps: only(scheduler, JANITOR_REAPS),
  };
}

type Method = (...args: never[]) => unknown;

/** The named methods of `target`, bound to it, and nothing else. */
function only<T extends Record<K, Method>, K extends keyof T>(target: T, names: readonly K[]): Pick<T, K> {
  const slice = {} as Pick<T, K>;
  for (const name of names) slice[name] = target[name].bind(target) as T[K];
  return slice;
}
