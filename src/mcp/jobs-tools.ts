import { z } from 'zod';
import { isFinal, JOB_STATES } from '../core/job.js';
import type { LogLineView } from '../protocol/views.js';
import { jobFields, submitJob } from './job-spec.js';
import { addTool, type ToolContext } from './tool.js';

const jobId = z.string().min(1).describe('A job id as returned by submit_job, or <dag_id>.<key> for a job of a DAG.');
export const waitSeconds = z
  .number()
  .min(0)
  .max(3600)
  .optional()
  .describe("How long to wait at most, in seconds (default 30). Keep it under your client's request timeout; if the result says final: false, call again.");

/** Default wait: below the 60 s many MCP clients allow a request. */
export const DEFAULT_WAIT_SECONDS = 30;

/** Submitting single jobs, following them, and the workers that run them. */
export function registerJobTools(ctx: ToolContext): void {
  addTool(
    ctx,
    {
      name: 'submit_job',
      description:
        'Run one job on the Titan cluster: either a shell `command`, or a `script` (its full text) with a `filename` whose extension picks the interpreter (.py, .sh, .js, .ts). Returns {jobId}; follow it with wait_job, job_status and job_logs.',
      input: jobFields,
    },
    (args, titan) => submitJob(titan, args),
  );

  addTool(
    ctx,
    {
      name: 'job_status',
      description: 'The current state of a job: state (queued, running, succeeded, failed, dead, cancelled…), attempt, worker, exit code, reason.',
      input: { job_id: jobId },
      readOnly: true,
    },
    (args, titan) => titan.status(args.job_id),
  );

  addTool(
    ctx,
    {
      name: 'wait_job',
      description:
        'Wait until a job is over (succeeded, failed, dead, cancelled…) or the timeout passes. Returns {final, job}: final is false when it timed out and the job still runs.',
      input: { job_id: jobId, timeout_seconds: waitSeconds },
      readOnly: true,
    },
    async (args, titan) => {
      const job = await titan.wait(args.job_id, Math.round((args.timeout_seconds ?? DEFAULT_WAIT_SECONDS) * 1000));
      return { final: isFinal(job.state), job };
    },
  );

  addTool(
    ctx,
    {
      name: 'job_logs',
      description: 'The last lines a job printed (stdout and stderr, every attempt), oldest first. Returns {jobId, total, lines: [{attempt, stream, line}]}.',
      input: { job_id: jobId, lines: z.number().int().min(1).max(10000).optional().describe('How many of the last lines to return (default 200).') },
      readOnly: true,
    },
    async (args, titan) => {
      const all: LogLineView[] = [];
      await titan.logs(args.job_id, (batch) => all.push(...batch));
      const tail = all.slice(-(args.lines ?? 200));
      return { jobId: args.job_id, total: all.length, lines: tail.map((l) => ({ attempt: l.attempt, stream: l.stream, line: l.line })) };
    },
  );

  addTool(
    ctx,
    {
      name: 'cancel',
      description:
        'Cancel a job, or a whole DAG run when given a dag id: running processes are killed and jobs not yet run are skipped. Returns the job or DAG after the cancel.',
      input: { id: z.string().min(1).describe('A job id or a dag id.') },
      destructive: true,
    },
    async (args, titan) => {
      const dag = await titan.dagStatus(args.id).catch(() => undefined);
      return dag !== undefined ? titan.cancelDag(args.id) : titan.cancel(args.id);
    },
  );

  addTool(
    ctx,
    {
      name: 'list_jobs',
      description:
        'Jobs, newest first: id, name, state, attempt, worker, exit code, reason (why a queued job waits). Filter by states, e.g. ["running", "queued"].',
      input: {
        states: z
          .array(z.enum(JOB_STATES))
          .max(JOB_STATES.length)
          .optional()
          .describe(`Only jobs in these states: ${JOB_STATES.join(', ')}.`),
        limit: z.number().int().min(1).max(1000).optional().describe('How many at most (default 50).'),
      },
      readOnly: true,
    },
    (args, titan) => titan.list({ limit: args.limit ?? 50, ...(args.states !== undefined ? { states: [...args.states] } : {}) }),
  );

  addTool(
    ctx,
    {
      name: 'list_workers',
      description: 'The cluster at a glance: workers (tags, slots, running jobs, load, health), queue depths and job counts by state.',
      input: {},
      readOnly: true,
    },
    (_args, titan) => titan.stats(),
  );
}
