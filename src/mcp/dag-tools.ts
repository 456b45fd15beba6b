import { z } from 'zod';
import { dagJob, toDagJobs } from './job-spec.js';
import { DEFAULT_WAIT_SECONDS, waitSeconds } from './jobs-tools.js';
import { addTool, type ToolContext } from './tool.js';

const dagId = z.string().min(1).describe('A dag id as returned by submit_dag.');
const gatedJob = z.string().min(1).describe('The job waiting for approval: <dag_id>.<key> or <dag_id>/<key>.');
const by = z.string().max(200).optional().describe('Who decides, recorded in the job\'s history (default "mcp").');

/** DAG runs: submitting, growing, following, and approval gates. */
export function registerDagTools(ctx: ToolContext): void {
  addTool(
    ctx,
    {
      name: 'submit_dag',
      description:
        'Start a DAG run: jobs that name each other by key in `parents` (a job runs when its parents succeeded). Each job has a `command` or a `script` with `filename`. Returns {dagId, jobIds}; follow with wait_dag or dag_status.',
      input: { name: z.string().min(1).max(200).describe('A name for the run, e.g. "etl".'), jobs: z.array(dagJob).min(1).describe('The jobs, in any order.') },
    },
    async (args, titan) => titan.submitDag(args.name, await toDagJobs(titan, args.jobs)),
  );

  addTool(
    ctx,
    {
      name: 'add_jobs',
      description:
        'Add jobs to a DAG that is still running; their parents may be new keys or keys already in the DAG (finished or not). Returns {dagId, jobIds}.',
      input: { dag_id: dagId, jobs: z.array(dagJob).min(1).describe('The new jobs; keys must not already be in the DAG.') },
    },
    async (args, titan) => titan.addJobs(args.dag_id, await toDagJobs(titan, args.jobs)),
  );

  addTool(
    ctx,
    {
      name: 'list_dags',
      description: 'DAG runs, newest first: id, name, state, job counts. Follow one with dag_status.',
      input: { limit: z.number().int().min(1).max(1000).optional().describe('How many at most (default 30).') },
      readOnly: true,
    },
    (args, titan) => titan.listDags(args.limit ?? 30),
  );

  addTool(
    ctx,
    {
      name: 'dag_status',
      description: 'A DAG run and each of its jobs: key, state, parents, worker, exit code, reason.',
      input: { dag_id: dagId },
      readOnly: true,
    },
    (args, titan) => titan.dagStatus(args.dag_id),
  );

  addTool(
    ctx,
    {
      name: 'wait_dag',
      description:
        'Wait until a DAG run is over (succeeded, failed or cancelled) or the timeout passes. Returns {final, dag, jobs}: final is false when it timed out and the run goes on.',
      input: { dag_id: dagId, timeout_seconds: waitSeconds },
      readOnly: true,
    },
    async (args, titan) => {
      const status = await titan.waitDag(args.dag_id, Math.round((args.timeout_seconds ?? DEFAULT_WAIT_SECONDS) * 1000));
      return { final: status.dag.state !== 'running', ...status };
    },
  );

  addTool(
    ctx,
    { name: 'approve', description: 'Let a DAG job that waits for approval run. Returns the job.', input: { job_id: gatedJob, by } },
    (args, titan) => titan.approve(args.job_id, args.by ?? 'mcp'),
  );

  addTool(
    ctx,
    {
      name: 'reject',
      description: 'Refuse a DAG job that waits for approval: it fails and its DAG follows its trigger rules. Returns the job.',
      input: { job_id: gatedJob, reason: z.string().max(2000).optional().describe('Why, recorded with the job.'), by },
      destructive: true,
    },
    (args, titan) => titan.reject(args.job_id, args.reason ?? '', args.by ?? 'mcp'),
  );
}
