import type { JobState } from '../core/job.js';

/** The shapes the master answers clients with: the wire contract of status, list, stats and logs. */
export interface JobView {
  readonly id: string;
  readonly name: string;
  readonly state: JobState;
  readonly attempt: number;
  readonly workerId: string | null;
  readonly priority: number;
  readonly requirement: readonly string[];
  readonly submittedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: string | null;
  readonly dagId: string | null;
  /** What it reserves on its worker, when it declared any. */
  readonly resources?: { readonly cpu?: number; readonly memoryMb?: number; readonly gpu?: number };
  /** The driver it asked for, when it asked. */
  readonly driver?: string;
  /** Who submitted it (the API token's name, `cluster`, `schedule:<id>`): its own token acts for them. */
  readonly submittedBy?: string;
}

export interface WorkerView {
  readonly id: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly slots: number;
  readonly running: number;
  readonly load: number;
  readonly health: string;
  readonly lastSeenMsAgo: number;
  readonly cpus: number;
  readonly memoryMb: number;
  /** The worker machine's 1-minute load average and free memory, from its last heartbeat (null before one). */
  readonly load1?: number | null;
  readonly freeMemoryMb?: number | null;
  readonly gpus: number;
  /** Reserved by the jobs it holds now. */
  readonly reserved?: { readonly cpus: number; readonly memoryMb: number; readonly gpus: number };
  readonly drivers?: readonly string[];
  readonly version: string;
  readonly uptimeMs: number | null;
  /** The worker process's pid on its host, as it reported it. */
  readonly pid: number | null;
  /** Set for a worker started by the autoscaler: the host that spawned it. */
  readonly spawnedBy: string | null;
}

export interface ClusterStatsView {
  readonly uptimeMs: number;
  readonly workers: readonly WorkerView[];
  readonly queues: Record<string, number>;
  readonly jobs: Record<JobState, number>;
  /** How late the delay timer fired against its due times (last 10,000 firings). */
  readonly timers?: { readonly fired: number; readonly lateMsP50: number | null; readonly lateMsP99: number | null; readonly lateMsMax: number | null };
  /** The masters of a replicated cluster (docs/HA.md), as its leader sees them; absent on a single master. */
  readonly masters?: MastersView;
}

export interface MastersView {
  /** The lease epoch the answering master leads under. */
  readonly epoch: number;
  /** The answering master's name: the leader. */
  readonly leader: string;
  /** The leader first, then standbys, then masters not seen for a while. */
  readonly masters: readonly MasterEntryView[];
}

export interface MasterEntryView {
  readonly name: string;
  /** host:port of its protocol port, as others reach it. */
  readonly tcp: string | null;
  /** Its HTTP API (host:port, or a base URL under TLS), when it has one. */
  readonly http: string | null;
  /** `gone`: its row was not refreshed lately (stopped, killed, or cut off from the database). */
  readonly role: 'leader' | 'standby' | 'gone';
  /** The epoch it last said it led under; null when it last wrote as a standby. */
  readonly epoch: number | null;
  readonly lastSeenMsAgo: number;
}

export interface LogLineView {
  readonly seq: number;
  readonly attempt: number;
  readonly stream: 'stdout' | 'stderr';
  readonly at: number;
  readonly line: string;
}

export interface DagView {
  readonly id: string;
  readonly name: string;
  readonly state: 'running' | 'succeeded' | 'failed' | 'cancelled';
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly total: number;
  readonly unfinished: number;
  readonly failed: number;
}

export interface DagStatusView {
  readonly dag: DagView;
  /** Jobs in submission order; `key` is the id inside the pipeline. */
  readonly jobs: ReadonlyArray<JobView & { readonly key: string; readonly parents: readonly string[] }>;
}

export interface JobEventView {
  readonly at: number;
  readonly from: JobState | null;
  readonly to: JobState;
  readonly attempt: number;
  readonly workerId: string | null;
  readonly detail: string | null;
}

export interface ServiceView {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly workerId: string | null;
  readonly host: string | null;
  readonly port: number | null;
  readonly pid: number | null;
  readonly restarts: number;
  readonly ready: boolean;
  readonly uptimeMs: number | null;
}

export interface AttemptView {
  readonly attempt: number;
  readonly workerId: string | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** The state the attempt ended in (or is in); `requeued` when it went back to the queue. */
  readonly state: string;
  readonly detail: string | null;
}

/**
 * Something waiting for a person's decision: a Titan job awaiting approval (its `ref` is the job
 * id) or a gate of the original Titan SDK registered in the KV set `titan:hitl:queue` (its `ref`
 * is `hitl:<gate id>`). Either is decided with `titan approve|reject <ref>`.
 */
export interface ApprovalView {
  readonly ref: string;
  readonly kind: 'job' | 'kv-gate';
  readonly message: string;
  /** When it started waiting (epoch ms, the master's clock); null when unknown. */
  readonly since: number | null;
  /** How long it has waited, in ms at the time of the answer; null when unknown. */
  readonly ageMs: number | null;
  /** When Titan fails it for want of a decision; null without a deadline (a KV gate keeps its own). */
  readonly expiresAt: number | null;
  readonly jobId: string | null;
  readonly dagId: string | null;
}

/** What deciding a KV gate did: the status key written and the value now in it. */
export interface GateDecisionView {
  readonly ref: string;
  readonly key: string;
  readonly status: 'APPROVED' | 'REJECTED';
  readonly by: string;
}
