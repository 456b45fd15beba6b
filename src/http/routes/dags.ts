import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode, TitanError } from '../../common/errors.js';
import type { HttpApiParts } from '../parts.js';
import { formatProblems } from '../../pipeline/parse-pipeline.js';
import { parsePipelineOffLoop } from '../../pipeline/parse-off-loop.js';
import { Opcode } from '../../protocol/opcodes.js';
import type { DagStatusView } from '../../protocol/views.js';
import { pipelineToDagJobs } from '../../sdk/pipeline-jobs.js';
import { callMaster } from '../master-call.js';
import { idParam, limit, parse } from '../validate.js';
import { httpContext } from './jobs.js';
import { PipelineFiles, uploadedFiles } from '../pipeline-files.js';

const DagListQuery = z.object({ limit: limit(50, 1000) });

/**
 * Either a YAML pipeline (as `titan dag` reads it, with its scripts and folder uploaded
 * beforehand: PipelineFiles) or the jobs themselves, as DAG_SUBMIT / DAG_ADD_JOBS take them.
 */
// Its size is checked by the pipeline limits (--max-pipeline-size), which name the flag.
const PipelineBody = z.object({ yaml: z.string().min(1) }).merge(PipelineFiles);
const DagSubmitBody = z.union([PipelineBody, z.object({ name: z.string(), jobs: z.array(z.unknown()) })]);
const DagAddBody = z.union([PipelineBody, z.object({ jobs: z.array(z.unknown()) })]);

function refuseProblems(problems: Parameters<typeof formatProblems>[1]): never {
  throw new TitanError(ErrorCode.INVALID_REQUEST, `${problems.length} problem(s) in the pipeline:\n${formatProblems('pipeline.yaml', problems)}`);
}

/** The DAG with its graph spelled out as nodes and edges, as the dashboard draws it. */
function withGraph(status: DagStatusView): DagStatusView & { edges: { from: string; to: string }[] } {
  return { ...status, edges: status.jobs.flatMap((job) => job.parents.map((parent) => ({ from: parent, to: job.key }))) };
}

/** DAG runs: list, one run with its graph, submit (YAML or jobs), cancel. */
export function registerDagRoutes(app: FastifyInstance, api: HttpApiParts): void {
  app.get('/api/v1/dags', async (request) => {
    const q = parse(DagListQuery, request.query, 'query');
    return callMaster(api.requests, httpContext(request), Opcode.DAG_LIST, { limit: q.limit });
  });

  app.get('/api/v1/dags/:id', async (request) => {
    const { id } = parse(idParam, request.params, 'path');
    return withGraph((await callMaster(api.requests, httpContext(request), Opcode.DAG_STATUS, { dagId: id })) as DagStatusView);
  });

  app.post('/api/v1/dags', async (request, reply) => {
    const body = parse(DagSubmitBody, request.body, 'body');
    let submit: unknown = body;
    if ('yaml' in body) {
      const parsed = await parsePipelineOffLoop(body.yaml, api.reads.pipelineLimits);
      if (!parsed.ok) refuseProblems(parsed.problems);
      submit = { name: parsed.pipeline.name, jobs: await pipelineToDagJobs(parsed.pipeline, 'pipeline.yaml', uploadedFiles(api.reads, body)) };
    }
    const answer = await callMaster(api.requests, httpContext(request), Opcode.DAG_SUBMIT, submit);
    return reply.code(201).send(answer);
  });

  // Grows a running DAG (an agent adding the next steps), as `titan dag add` does.
  app.post('/api/v1/dags/:id/jobs', async (request, reply) => {
    const { id } = parse(idParam, request.params, 'path');
    const body = parse(DagAddBody, request.body, 'body');
    let jobs: unknown = 'jobs' in body ? body.jobs : undefined;
    if ('yaml' in body) {
      const status = (await callMaster(api.requests, httpContext(request), Opcode.DAG_STATUS, { dagId: id })) as DagStatusView;
      const parsed = await parsePipelineOffLoop(body.yaml, api.reads.pipelineLimits, { existingJobIds: new Set(status.jobs.map((j) => j.key)), existingEdges: new Map(status.jobs.map((j) => [j.key, j.parents])) });
      if (!parsed.ok) refuseProblems(parsed.problems);
      jobs = await pipelineToDagJobs(parsed.pipeline, 'pipeline.yaml', uploadedFiles(api.reads, body));
    }
    const answer = await callMaster(api.requests, httpContext(request), Opcode.DAG_ADD_JOBS, { dagId: id, jobs });
    return reply.code(201).send(answer);
  });

  app.post('/api/v1/dags/:id/cancel', async (request) => {
    const { id } = parse(idParam, request.params, 'path');
    return withGraph((await callMaster(api.requests, httpContext(request), Opcode.DAG_CANCEL, { dagId: id })) as DagStatusView);
  });
}
