import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { DagJobRequest, JobSubmitRequest } from '../protocol/messages.js';
import type { SubmitInput, TitanClient } from '../sdk/client.js';
import { DEFAULT_REQUIREMENT } from '../core/requirement.js';

/** The fields of one job as an AI client writes them (snake_case), shared by submit_job, submit_dag and add_jobs. */
export const jobFields = {
  command: z
    .string()
    .min(1)
    .max(65536)
    .optional()
    .describe('A shell command line run with /bin/sh in the job\'s own work dir, e.g. "echo hello && ls". Give either command or script.'),
  script: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The full text of a script to run instead of a command. It is uploaded to the master and run by its filename's extension: .py python3, .sh bash, .js/.mjs node, .ts node+tsx. Requires filename.",
    ),
  filename: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/, 'a bare file name such as "train.py" (letters, digits, dot, dash, underscore)')
    .optional()
    .describe('The script\'s file name, e.g. "train.py" or "build.sh"; its extension picks the interpreter. Required with script.'),
  args: z.array(z.string()).max(1000).optional().describe('Arguments after the script (or $1, $2… of a command).'),
  env: z.record(z.string(), z.string()).optional().describe('Extra environment variables, e.g. {"EPOCHS": "3"}.'),
  name: z.string().max(200).optional().describe('A human-readable name shown in listings.'),
  requirement: z
    .array(z.string())
    .max(32)
    .optional()
    .describe(`Worker tags the job needs, e.g. ["GPU"]; default ${JSON.stringify(DEFAULT_REQUIREMENT)} (any worker).`),
  priority: z.number().int().min(-1000).max(1000).optional().describe('Higher runs first; default 0.'),
  retries: z.number().int().min(0).max(100).optional().describe('How many times to run it again after a failure; default 0.'),
  timeout_seconds: z
    .number()
    .min(0)
    .max(30 * 86400)
    .optional()
    .describe('Kill the job after this many seconds; default 0 (no limit).'),
  memory: z.string().max(32).optional().describe('Memory reserved and enforced, e.g. "256M" or "2G"; a job over it ends with reason "oom: ...".'),
  cpu: z.number().min(0).max(4096).optional().describe('CPU cores reserved and enforced (fractions allowed), e.g. 0.5.'),
  gpu: z.number().int().min(0).max(64).optional().describe('GPUs reserved on the worker.'),
};

const keyPattern = /^[A-Za-z0-9._-]{1,128}$/;

/** A job inside a DAG: a key the other jobs name as a parent, plus the gates a DAG adds. */
export const dagJob = z.object({
  key: z
    .string()
    .regex(keyPattern, 'keys are 1-128 letters, digits, dot, dash or underscore')
    .describe('This job\'s id inside the DAG, e.g. "prepare"; its full job id becomes <dag_id>.<key>.'),
  parents: z.array(z.string()).max(10000).optional().describe('Keys of jobs that must finish first (for add_jobs, also keys already in the DAG).'),
  trigger_rule: z
    .enum(['all_success', 'all_done', 'one_failed'])
    .optional()
    .describe('When it runs given its parents: all_success (default), all_done, one_failed.'),
  approval_message: z.string().max(2000).optional().describe('If set, the job waits until someone calls approve (or reject) with this question shown.'),
  ...jobFields,
});

export type JobFields = z.output<z.ZodObject<typeof jobFields>>;
type DagJobFields = z.output<typeof dagJob>;
type RunSpec = { command: string } | { script: string; filename: string };

/** Keeps the fields that were given, so optional request fields are absent rather than undefined. */
function given<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function runSpec(job: JobFields, where: string): RunSpec {
  if (job.command !== undefined && job.script !== undefined)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${where}: give either command or script, not both`);
  if (job.command !== undefined) return { command: job.command };
  if (job.script === undefined)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${where}: give a command (a shell line) or a script (its text) with a filename`);
  if (job.filename === undefined)
    throw new TitanError(ErrorCode.INVALID_REQUEST, `${where}: a script needs a filename such as "main.py" or "run.sh" (its extension picks the interpreter)`);
  return { script: job.script, filename: job.filename };
}

function options(job: JobFields): Omit<JobSubmitRequest, 'run' | 'id' | 'bundle' | 'service'> {
  const resources = given({ memory: job.memory, cpu: job.cpu, gpu: job.gpu });
  return given({
    name: job.name,
    args: job.args,
    env: job.env,
    requirement: job.requirement,
    priority: job.priority,
    retries: job.retries,
    timeoutSeconds: job.timeout_seconds,
    resources: Object.keys(resources).length > 0 ? resources : undefined,
  });
}

/**
 * Calls `use` with the SDK input for one job; an inline script is written to a temp dir under its
 * filename (the SDK uploads it) and removed afterwards.
 */
export async function withJobInput<T>(job: JobFields, where: string, use: (input: SubmitInput) => Promise<T>): Promise<T> {
  const run = runSpec(job, where);
  if ('command' in run) return use({ ...options(job), command: run.command });
  const dir = await mkdtemp(join(tmpdir(), 'titan-mcp-'));
  try {
    const file = join(dir, run.filename);
    await writeFile(file, run.script);
    return await use({ ...options(job), file });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Submits one job. */
export function submitJob(titan: TitanClient, job: JobFields): Promise<{ jobId: string }> {
  return withJobInput(job, 'submit_job', (input) => titan.submit(input));
}

/** The wire form of DAG jobs; inline scripts are uploaded to the master's artifact store first. */
export async function toDagJobs(titan: TitanClient, jobs: readonly DagJobFields[]): Promise<DagJobRequest[]> {
  return Promise.all(
    jobs.map(async (job) => {
      const spec = runSpec(job, `job "${job.key}"`);
      const run: DagJobRequest['run'] =
        'command' in spec
          ? { kind: 'command', command: spec.command }
          : { kind: 'script', fileName: spec.filename, artifact: await titan.upload(Buffer.from(spec.script, 'utf8')) };
      const approval = job.approval_message === undefined ? undefined : { message: job.approval_message, timeoutSeconds: 0 };
      return { key: job.key, run, ...options(job), ...given({ parents: job.parents, triggerRule: job.trigger_rule, approval }) };
    }),
  );
}
