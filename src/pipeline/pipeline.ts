import type { PipelineLimits } from './pipeline-limits.js';

/** The typed form of a pipeline file (the original Titan YAML schema), produced by `parsePipeline`. */

export type TriggerRule = 'all_success' | 'all_done' | 'one_failed';
export const TRIGGER_RULES: readonly TriggerRule[] = ['all_success', 'all_done', 'one_failed'];

export type JobType = 'run' | 'service';
export const JOB_TYPES: readonly JobType[] = ['run', 'service'];

export type Driver = 'process' | 'sandbox' | 'docker';
export const DRIVER_NAMES: readonly Driver[] = ['process', 'sandbox', 'docker'];
export type Network = 'host' | 'none';
export const NETWORKS: readonly Network[] = ['host', 'none'];

export type BackoffType = 'fixed' | 'exponential';
export const BACKOFF_TYPES: readonly BackoffType[] = ['fixed', 'exponential'];

export interface RetryBackoff {
  readonly type: BackoffType;
  readonly delaySeconds: number;
  readonly maxSeconds: number;
}

export interface Approval {
  readonly message: string;
  /** 0 = wait for a decision forever. */
  readonly timeoutSeconds: number;
}

/**
 * The original Titan's `hitl_message`: once the job succeeds, its dependants wait for a person's
 * decision (a gate job `hitl-gate-<id>` inserted after it), for at most `maxWaitSeconds`.
 */
export interface HitlGate {
  readonly message: string;
  readonly maxWaitSeconds: number;
}

/** The original's gate job id for a gated job, as its SDK and dashboard name it. */
export function hitlGateId(jobId: string): string {
  return `hitl-gate-${jobId}`;
}

/** The original's default wait for a decision: 48 hours. */
export const DEFAULT_MAX_WAIT_SECONDS = 172_800;
/** The longest approval deadline the master takes (30 days). */
export const MAX_WAIT_SECONDS_LIMIT = 30 * 86_400;

export interface PipelineJob {
  /** Matches `JOB_ID_PATTERN`. */
  readonly id: string;
  readonly type: JobType;
  /** Script path relative to the pipeline file's folder; exactly one of `file` and `command` is set. */
  readonly file?: string;
  readonly command?: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Parent job ids, of this pipeline or of the running DAG it is added to. */
  readonly dependsOn: readonly string[];
  readonly requirement: readonly string[];
  /** Higher runs first. */
  readonly priority: number;
  readonly delaySeconds: number;
  /** `run_at` (the job's, else the pipeline's): not queued before this time, epoch ms. */
  readonly runAt?: number;
  /** Run on the worker that ran the (first) parent. */
  readonly affinity: boolean;
  readonly port: number | 'auto' | null;
  readonly retries: number;
  readonly retryBackoff: RetryBackoff;
  /** 0 = no timeout. */
  readonly timeoutSeconds: number;
  readonly triggerRule: TriggerRule;
  readonly approval: Approval | null;
  /** `hitl_message` (with `max_wait_seconds`): a decision gate after the job, before its dependants. */
  readonly hitl: HitlGate | null;
  /** Id of a job of this pipeline that runs instead of the DAG failing. */
  readonly onFailure: string | null;
  /** `resources: {cpu, memory, gpu}`; memory in MiB after parsing `256M`-style sizes. */
  readonly resources: { readonly cpu?: number; readonly memoryMb?: number; readonly gpu?: number } | null;
  readonly driver: Driver | null;
  readonly network: Network | null;
  readonly image: string | null;
  /** 1-based line of the job in the file. */
  readonly line: number;
}

export interface Pipeline {
  readonly name: string;
  readonly version: string;
  readonly project: boolean;
  /** In file order. */
  readonly jobs: readonly PipelineJob[];
}

/** One thing wrong with a pipeline file: where (1-based) and what to do about it. */
export interface PipelineProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export type ParseResult = { ok: true; pipeline: Pipeline } | { ok: false; problems: PipelineProblem[] };

export interface ParseOptions {
  /** Ids of the running DAG the jobs are added to: valid parents, and taken ids. */
  readonly existingJobIds?: ReadonlySet<string>;
  /** child → parents of the running DAG, included in cycle detection. */
  readonly existingEdges?: ReadonlyMap<string, readonly string[]>;
  /** Size, depth and key limits (the master's); none when absent (a client reading its own file). */
  readonly limits?: PipelineLimits;
}

export const JOB_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export const TOP_LEVEL_KEYS = ['name', 'version', 'project', 'jobs', 'run_at'] as const;

export const JOB_KEYS = [
  'id',
  'type',
  'file',
  'command',
  'args',
  'env',
  'depends_on',
  'dependencies',
  'requirement',
  'priority',
  'delay',
  'run_at',
  'affinity',
  'port',
  'retries',
  'retry_backoff',
  'timeout',
  'trigger_rule',
  'approval',
  'on_failure',
  'resources',
  'driver',
  'network',
  'image',
  'hitl_message',
  'max_wait_seconds',
] as const;

export const RESOURCES_KEYS = ['cpu', 'memory', 'gpu'] as const;

export const RETRY_BACKOFF_KEYS = ['type', 'delay', 'max'] as const;
export const APPROVAL_KEYS = ['message', 'timeout'] as const;

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { type: 'fixed', delaySeconds: 1, maxSeconds: 300 };
/** Anchors may be reused; beyond this many expansions the file is treated as an alias bomb. */
export const MAX_ALIAS_COUNT = 1000;
