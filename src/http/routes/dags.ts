import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HttpApiParts } from '../parts.js';
import { Opcode } from '../../protocol/opcodes.js';
import type { PipelineMissingReply } from '../../protocol/pipeline-messages.js';
import type { DagStatusView } from '../../protocol/views.js';
import { callMaster } from '../master-call.js';
import { idParam, limit, parse } from '../validate.js';
import { httpContext } from './jobs.js';
import { PipelineFiles, refuseMissing } from '../pipeline-files.js';

const DagListQuery = z.object({ limit: limit(50, 1000) });

/**
 * Either a YAML pipeline (as `titan dag` reads it, with its scripts and folder uploaded
 * beforehand: PipelineFiles) or the jobs themselves, as DAG_SUBMIT / DAG_ADD_JOBS take them.
 */
// Its size is checked by the pipeline limits (--max-pipeline-size), which name the flag.
const PipelineBody = z.object({ yaml: z.string().min(1) }).merge(PipelineFiles);
const DagSubmitBody = z.union([PipelineBody, z.object({ name: z.string(), jobs: z.array(z.unknown()) })]);
const DagAddBody = z.union([PipelineBody, z.object({ jobs: z.array(z.unknown()) })]);

type PipelineBody = z.output<typeof PipelineBody>;

/** The master parses the YAML (PIPELINE_SUBMIT); a pipeline naming a file the body lacks is refused. */
async function submitPipeline(request: FastifyRequest, api: HttpApiParts, body: PipelineBody, dagId?: string): Promise<unknown> {
  const submit = {
    yaml: body.yaml,
    source: 'pipeline.yaml',
    files: body.files,
    ...(body.project !== undefined ? { project: body.project } : {}),
    ...(dagId !== undefined ? { dagId } : {}),
  };
  const answer = await callMaster(api.requests, httpContext(request), Opcode.PIPELINE_SUBMIT, submit);
  if (typeof answer === 'object' && answer !== null && 'missing' in answer) refuseMissing(answer as PipelineMissingReply);
  return answer;
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
    const answer = 'yaml' in body ? await submitPipeline(request, api, body) : await callMaster(api.requests, httpContext(request), Opcode.DAG_SUBMIT, body);
    return reply.code(201).send(answer);
  });

  // Grows a running DAG (an agent adding the next steps), as `titan dag add` does.
  app.post('/api/v1/dags/:id/jobs', async (request, reply) => {
    const { id } = parse(idParam, request.params, 'path');
    const body = parse(DagAddBody, request.body, 'body');
    const answer =
      'yaml' in body
        ? await submitPipeline(request, api, body, id)
        : await callMaster(api.requests, httpContext(request), Opcode.DAG_ADD_JOBS, { dagId: id, jobs: body.jobs });
    return reply.code(201).send(answer);
  });

  app.post('/api/v1/dags/:id/cancel', async (request) => {
    const { id } = parse(idParam, request.params, 'path');
    return withGraph((await callMaster(api.requests, httpContext(request), Opcode.DAG_CANCEL, { dagId: id })) as DagStatusView);
  });
}
