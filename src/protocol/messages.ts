import { z } from 'zod';
import { JOB_STATES } from '../core/job.js';
import { DRIVERS, parseMemoryMb } from '../core/resources.js';
import { InferenceAgentReport } from './inference-messages.js';
import { DEFAULT_REQUIREMENT } from '../core/requirement.js';

/** One schema per message body that crosses the socket; parsed once at the boundary. */

const id = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'ids are 1-128 characters of letters, digits, dot, dash or underscore');
const tag = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tags are letters, digits, dash or underscore');
const bytes = z.instanceof(Uint8Array);
/** A script's name is a path inside the job's workspace: relative, no "..", no control characters. */
const fileName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\p{Cc}]+$/u, 'file names have no control characters (no newline, tab or NUL)')
  .refine((n) => !n.startsWith('/') && !n.split(/[\\/]/).includes('..'), 'file names are relative to the job workspace: no leading "/" and no ".." segments');

export const AuthRequest = z.object({
  token: z.string().min(1).max(4096),
  role: z.enum(['worker', 'client']),
  name: z.string().max(200).optional(),
});
export type AuthRequest = z.infer<typeof AuthRequest>;

export const JobRunSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('script'), fileName, artifact: z.string().regex(/^[a-f0-9]{64}$/) }),
  z.object({ kind: z.literal('command'), command: z.string().min(1).max(65536) }),
]);

/** How a service is kept alive on its worker. */
export const ServicePolicy = z.object({
  /** null: the worker picks a free port. */
  port: z.number().int().min(1).max(65535).nullable(),
  restart: z.enum(['always', 'on-failure', 'never']).default('always'),
  /** More restarts than this within windowSeconds and the service goes dead. */
  maxRestarts: z.number().int().min(0).max(1000).default(5),
  windowSeconds: z.number().min(1).max(86400).default(60),
  /** Readiness by HTTP GET of this path (2xx/3xx); by TCP connect when absent. */
  readinessPath: z.string().max(1000).optional(),
});
export type ServicePolicy = z.infer<typeof ServicePolicy>;

/** A memory size: MiB as a number, or text with a unit (`256M`, `1.5G`), normalised to MiB. */
const memorySize = z.union([z.number(), z.string().max(32)]).transform((value, ctx) => {
  const mb = parseMemoryMb(value);
  if (typeof mb === 'number') return mb;
  ctx.addIssue({ code: 'custom', message: mb.problem });
  return z.NEVER;
});

/** What a job reserves on its worker and is held to there. */
export const JobResourcesSchema = z
  .object({
    cpu: z.number().min(0).max(4096).optional(),
    memoryMb: memorySize.optional(),
    /** The same as memoryMb; whichever is given. */
    memory: memorySize.optional(),
    gpu: z.number().int().min(0).max(64).optional(),
  })
  .strict()
  .transform(({ memory, memoryMb, ...rest }) => {
    const mb = memoryMb ?? memory;
    return mb !== undefined ? { ...rest, memoryMb: mb } : rest;
  });

/** How a job asks to be run: resources, driver, network, image (docker). */
const isolationFields = {
  resources: JobResourcesSchema.optional(),
  driver: z.enum(DRIVERS).optional(),
  network: z.enum(['host', 'none']).optional(),
  image: z.string().min(1).max(512).optional(),
};

/** Most environment variables one job may set: counted before each name is checked. */
export const MAX_ENV_VARS = 1000;
const envCount = z.custom<Record<string, unknown>>((v) => typeof v !== 'object' || v === null || Object.keys(v).length <= MAX_ENV_VARS, {
  message: `at most ${MAX_ENV_VARS} variables; pass larger configuration as a file or a KV value`,
});

/** What a client asks to run; defaults are filled in by the master. */
export const JobSubmitRequest = z.object({
  id: id.optional(),
  name: z.string().max(200).optional(),
  run: JobRunSchema,
  args: z.array(z.string()).max(1000).default([]),
  env: envCount.pipe(z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string())).default({}),
  requirement: z
    .array(tag)
    .max(32)
    .default(() => [...DEFAULT_REQUIREMENT]),
  priority: z.number().int().min(-1000).max(1000).default(0),
  retries: z.number().int().min(0).max(100).default(0),
  timeoutSeconds: z
    .number()
    .min(0)
    .max(30 * 86400)
    .default(0),
  bundle: z
    .string()
    .regex(/^[a-f0-9]{64}$/)
    .optional(),
  service: ServicePolicy.optional(),
  ...isolationFields,
  /** Queued this many seconds after it is accepted (for a DAG job: after its parents are done). */
  delaySeconds: z
    .number()
    .min(0)
    .max(30 * 86400)
    .optional(),
  /** Not queued before this time (epoch ms). */
  runAt: z.number().int().min(0).max(8.64e15).optional(),
});
export type JobSubmitRequest = z.input<typeof JobSubmitRequest>;

/** A job of a DAG: its key is local to the DAG; parents and on_failure name other keys. */
export const DagJobRequest = JobSubmitRequest.omit({ id: true }).extend({
  key: id,
  parents: z.array(id).max(10000).default([]),
  triggerRule: z.enum(['all_success', 'all_done', 'one_failed']).default('all_success'),
  affinity: z.boolean().default(false),
  retryBackoff: z
    .object({ type: z.enum(['fixed', 'exponential']), delaySeconds: z.number().min(0).max(86400), maxSeconds: z.number().min(0).max(86400) })
    .optional(),
  delaySeconds: z
    .number()
    .min(0)
    .max(30 * 86400)
    .default(0),
  onFailure: id.optional(),
  approval: z
    .object({
      message: z.string().max(2000),
      timeoutSeconds: z
        .number()
        .min(0)
        .max(30 * 86400),
    })
    .optional(),
  /**
   * The original Titan's `hitl_message`: after this job succeeds, the master inserts the gate job
   * `hitl-gate-<key>` awaiting a person's approval, and the job's dependants wait for the gate.
   */
  hitl: z
    .object({
      message: z.string().min(1).max(2000),
      maxWaitSeconds: z
        .number()
        .min(1)
        .max(30 * 86400),
    })
    .optional(),
});
export type DagJobRequest = z.input<typeof DagJobRequest>;

/** A gate id of the original SDK's KV protocol (`titan:hitl:status:<gateId>` must be a valid KV key). */
export const kvGateId = z.string().regex(/^[^\p{Cc}]{1,480}$/u, 'a gate id is 1-480 characters with no control characters');

/** Decides a job awaiting approval (`jobId`) or a KV gate of the original SDK (`gateId`): exactly one. */
export const ApprovalDecision = z
  .object({ jobId: id.optional(), gateId: kvGateId.optional(), by: z.string().max(200).optional(), reason: z.string().max(2000).default('') })
  .refine((d) => (d.jobId === undefined) !== (d.gateId === undefined), {
    message: 'give either jobId (a Titan job) or gateId (a gate in titan:hitl:queue), not both or neither',
  });

/** The most jobs one DAG_SUBMIT or DAG_ADD_JOBS may carry. */
export const MAX_DAG_JOBS = 100_000;
export const DagSubmitRequest = z.object({
  name: z.string().min(1).max(200),
  jobs: z.array(DagJobRequest).min(1).max(MAX_DAG_JOBS),
  /** No job of the run is queued before this time (epoch ms)... */
  runAt: z.number().int().min(0).max(8.64e15).optional(),
  /** ...nor before this many seconds after the master accepts it. */
  delaySeconds: z
    .number()
    .min(0)
    .max(30 * 86400)
    .optional(),
});
export const DagAddJobsRequest = z.object({ dagId: id, jobs: z.array(DagJobRequest).min(1).max(MAX_DAG_JOBS) });
export const DagRef = z.object({ dagId: id });
export const DagWaitRequest = z.object({ dagId: id, timeoutMs: z.number().int().min(0).max(86_400_000).optional() });
export const DagListRequest = z.object({ limit: z.number().int().min(1).max(10000).default(30) });

export const JobSubmitBatchRequest = z.object({ jobs: z.array(JobSubmitRequest).min(1).max(10000) });

export const JobRef = z.object({ jobId: id });
export const WorkerRef = z.object({ workerId: id });
export const JobWaitRequest = z.object({ jobId: id, timeoutMs: z.number().int().min(0).max(86_400_000).optional() });
export const JobListRequest = z.object({
  states: z.array(z.enum(JOB_STATES)).optional(),
  limit: z.number().int().min(1).max(10000).default(50),
});
export const JobLogsRequest = z.object({ jobId: id, afterSeq: z.number().int().min(0).default(0), follow: z.boolean().default(false) });

export const WorkerRegisterRequest = z.object({
  workerId: id,
  host: z.string().max(255),
  tags: z.array(tag).max(64),
  slots: z.number().int().min(1).max(1024),
  resources: z.object({ cpus: z.number().min(0), memoryMb: z.number().min(0), gpus: z.number().int().min(0) }),
  /** The drivers this worker runs jobs with (absent: process only). */
  drivers: z.array(z.enum(DRIVERS)).max(8).optional(),
  holding: z.array(z.object({ jobId: id, attempt: z.number().int().min(1), port: z.number().int().optional(), ready: z.boolean().optional() })).max(100000),
  pid: z.number().int(),
  version: z.string().max(50).optional(),
  startedAt: z.number().optional(),
  /** Set by a spawnable host (`titan worker --spawnable`): the workers it may start for the autoscaler. */
  spawn: z
    .object({
      tags: z.array(tag).max(64),
      slots: z.number().int().min(1).max(1024),
      min: z.number().int().min(0).max(1000),
      max: z.number().int().min(0).max(1000),
    })
    .optional(),
  /** Set by a worker a host spawned: the autoscaler may retire it when idle. */
  spawnedBy: id.optional(),
});
export type WorkerRegisterRequest = z.infer<typeof WorkerRegisterRequest>;

/** Master → spawnable host: start one more worker process with these tags. */
export const WorkerSpawnRequest = z.object({ workerId: id, tags: z.array(tag).max(64), slots: z.number().int().min(1).max(1024) });
export type WorkerSpawnRequest = z.infer<typeof WorkerSpawnRequest>;

export const WorkerHeartbeat = z.object({
  running: z.number().int().min(0),
  load1: z.number().optional(),
  freeMemoryMb: z.number().optional(),
  /** The attempts the worker runs now, for the master's janitor. */
  jobs: z
    .array(z.object({ jobId: id, attempt: z.number().int().min(1) }))
    .max(100000)
    .optional(),
  /** JOB_DISPATCH frames received on this connection when the heartbeat left (orders it against dispatches). */
  dispatches: z.number().int().min(0).optional(),
  /** Present on a worker started with --inference. */
  inference: InferenceAgentReport.optional(),
});

export const JobStartedReport = z.object({ jobId: id, attempt: z.number().int().min(1), pid: z.number().int() });
export const JobFinishedReport = z.object({
  jobId: id,
  attempt: z.number().int().min(1),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  durationMs: z.number().min(0),
  error: z.string().optional(),
  timedOut: z.boolean().default(false),
  /** A service its worker stopped on its own (draining): the master reschedules it. */
  stopped: z.boolean().optional(),
  /** The kernel killed it for going over its memory limit. */
  oom: z.boolean().optional(),
  /** Its worker killed it because it had not heard from the master for its lease (docs/RELIABILITY.md). */
  leaseExpired: z.boolean().optional(),
});
export type JobFinishedReport = z.infer<typeof JobFinishedReport>;

export const JobLogLines = z.object({
  jobId: id,
  attempt: z.number().int().min(1),
  lines: z.array(z.object({ stream: z.enum(['stdout', 'stderr']), at: z.number(), line: z.string() })).max(100000),
});

export const ServiceReadyReport = z.object({ jobId: id, attempt: z.number().int().min(1), port: z.number().int().min(1).max(65535), pid: z.number().int() });
export const ServiceRestartedReport = z.object({
  jobId: id,
  attempt: z.number().int().min(1),
  restarts: z.number().int().min(0),
  pid: z.number().int(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
});

export const JobDispatch = z.object({
  jobId: id,
  attempt: z.number().int().min(1),
  name: z.string(),
  run: JobRunSchema,
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  /** The attempt's own token (TITAN_TOKEN inside the job): it acts for the job's submitter, never as the worker. */
  token: z.string().min(1),
  timeoutSeconds: z.number().min(0),
  bundle: z.string().optional(),
  dagId: id.optional(),
  service: ServicePolicy.optional(),
  resources: z.object({ cpu: z.number().optional(), memoryMb: z.number().optional(), gpu: z.number().optional() }).optional(),
  driver: z.enum(DRIVERS).optional(),
  network: z.enum(['host', 'none']).optional(),
  image: z.string().optional(),
});
export type JobDispatch = z.infer<typeof JobDispatch>;

export const JobKill = z.object({ jobId: id, attempt: z.number().int().min(1), reason: z.string() });
export type JobKill = z.infer<typeof JobKill>;

export const ArtifactPutRequest = z.object({ data: z.union([bytes, z.string()]), encoding: z.enum(['binary', 'base64']).default('binary') });
export const ArtifactGetRequest = z.object({ hash: z.string().regex(/^[a-f0-9]{64}$/) });

/** Parses a body or throws a zod error; the server maps it to E_BAD_BODY with the path named. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}
