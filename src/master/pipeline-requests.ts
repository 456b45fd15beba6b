import { asTitanError, ErrorCode } from '../common/errors.js';
import { parsePipelineOffLoop } from '../pipeline/parse-off-loop.js';
import { formatProblems } from '../pipeline/parse-pipeline.js';
import { DEFAULT_PIPELINE_LIMITS } from '../pipeline/pipeline-limits.js';
import type { DagJobRequest } from '../protocol/messages.js';
import { Opcode } from '../protocol/opcodes.js';
import { parseBody } from '../protocol/parse-body.js';
import { PipelineSubmitRequest } from '../protocol/pipeline-messages.js';
import type { IncomingMessage, Replier } from '../protocol/replier.js';
import { requirementOf } from '../security/opcode-permissions.js';
import type { ClientContext } from './client-context.js';
import { dagStatus } from './dag-handlers.js';
import { handleDagMessage, type DagRequestHost } from './dag-requests.js';
import type { Master } from './master.js';
import { missingUploads, pipelineToDagJobs } from './pipeline-jobs.js';
import { handleScheduleMessage, type ScheduleRequestHost } from './schedule-requests.js';

/** What PIPELINE_SUBMIT uses: what the opcodes it becomes use, and the pipeline limits in the options. */
export type PipelineRequestHost = DagRequestHost & ScheduleRequestHost & Pick<Master, 'options'>;

type PipelineSubmit = ReturnType<typeof PipelineSubmitRequest.parse>;

/**
 * PIPELINE_SUBMIT: parses the YAML off the master's loop, answers every problem at `file:line`,
 * or what files to upload first, else submits the jobs through DAG_SUBMIT, DAG_ADD_JOBS or
 * SCHEDULE_ADD's own handler, after the same role and namespace check those opcodes get.
 */
export function handlePipelineSubmit(master: PipelineRequestHost, session: ClientContext, msg: IncomingMessage, reply: Replier): void {
  const req = parseBody(PipelineSubmitRequest, msg);
  submit(master, session, msg, req, reply).catch((err: unknown) => {
    const error = asTitanError(err, master.options.dataDir);
    if (error.code === ErrorCode.INTERNAL) master.log.error({ err }, 'PIPELINE_SUBMIT failed');
    reply.error(error.code, error.message);
  });
}

async function submit(master: PipelineRequestHost, session: ClientContext, msg: IncomingMessage, req: PipelineSubmit, reply: Replier): Promise<void> {
  const running = req.dagId === undefined ? undefined : (await dagStatus(master, req.dagId)).jobs;
  const existing =
    running === undefined ? {} : { existingJobIds: new Set(running.map((j) => j.key)), existingEdges: new Map(running.map((j) => [j.key, j.parents])) };
  const parsed = await parsePipelineOffLoop(req.yaml, master.options.pipelineLimits ?? DEFAULT_PIPELINE_LIMITS, existing);
  if (!parsed.ok) {
    reply.error(ErrorCode.INVALID_REQUEST, `${parsed.problems.length} problem(s) in the pipeline:\n${formatProblems(req.source, parsed.problems)}`);
    return;
  }
  const uploads = { files: req.files, project: req.project, has: (hash: string) => master.artifacts.has(hash) };
  const missing = missingUploads(parsed.pipeline, uploads);
  if (missing !== undefined) {
    reply.ok(missing);
    return;
  }
  const jobs = pipelineToDagJobs(parsed.pipeline, uploads);
  const name = parsed.pipeline.name.slice(0, 200) || 'pipeline';
  const timing = { ...(req.runAt !== undefined ? { runAt: req.runAt } : {}), ...(req.delaySeconds !== undefined ? { delaySeconds: req.delaySeconds } : {}) };
  const [opcode, body]: [number, { jobs: DagJobRequest[] } & Record<string, unknown>] =
    req.dagId !== undefined
      ? [Opcode.DAG_ADD_JOBS, { dagId: req.dagId, jobs }]
      : req.schedule !== undefined
        ? [Opcode.SCHEDULE_ADD, { name, jobs, ...timing, ...req.schedule }]
        : [Opcode.DAG_SUBMIT, { name, jobs, ...timing }];
  admitAs(master, session, opcode, body);
  const inner: IncomingMessage = { ...msg, opcode, body };
  if (opcode === Opcode.SCHEDULE_ADD) handleScheduleMessage(master, inner, reply);
  else handleDagMessage(master, session, inner, reply);
}

/** The jobs are known only now: the caller needs what the opcode they become needs (deploy for a service). */
function admitAs(master: PipelineRequestHost, session: ClientContext, opcode: number, body: Record<string, unknown>): void {
  if (session.identity === null) return;
  master.security.authorize(session.identity, requirementOf(opcode, body), 'PIPELINE_SUBMIT', session.remoteAddress);
}
