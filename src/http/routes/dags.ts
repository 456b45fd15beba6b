import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ErrorCode, TitanError } from '../../common/errors.js';
import type { Master } from '../../master/master.js';
import { formatProblems, parsePipeline } from '../../pipeline/parse-pipeline.js';
import { Opcode } from '../../protocol/opcodes.js';
import type { DagStatusView } from '../../protocol/views.js';
import { pipelineToDagJobs } from '../../sdk/pipeline-jobs.js';
import { callMaster } from '../master-call.js';
import { idParam, limit, parse } from '../validate.js';
import { httpContext } from './jobs.js';

const DagListQuery = z.object({ limit: limit(50, 1000) });

/** Either a YAML pipeline (as `titan dag` reads it) or the jobs themselves, as DAG_SUBMIT takes them. */
const DagSubmitBody = z.union([
  z.object({ yaml: z.string().min(1).max(4 * 1024 * 1024) }),
  z.object({ name: z.string(), jobs: z.array(z.unknown()) }),
]);

const noFiles = {
  upload: (): Promise<string> => Promise.reject(new TitanError(ErrorCode.INVALID_REQUEST, 'a pipeline sent over HTTP carries no files; give each job a command:, or submit it with `titan dag <file>`')),
  uploadFolder: (): Promise<string> => Promise.reject(new TitanError(ErrorCode.INVALID_REQUEST, 'project: true needs the pipeline folder; submit it with `titan dag <file>`')),
};

/** The DAG with its graph spelled out as nodes and edges, as the dashboard draws it. */
function withGraph(status: DagStatusView): DagStatusView & { edges: { from: string; to: string }[] } {
  return { ...status, edges: status.jobs.flatMap((job) => job.parents.map((parent) => ({ from: parent, to: job.key }))) };
}

/** DAG runs: list, one run with its graph, submit (YAML or jobs), cancel. */
export function registerDagRoutes(app: FastifyInstance, master: Master): void {
  app.get('/api/v1/dags', async (request) => {
    const q = parse(DagListQuery, request.query, 'query');
    return callMaster(master, httpContext(request), Opcode.DAG_LIST, { limit: q.limit });
  });

  app.get('/api/v1/dags/:id', async (request) => {
    const { id } = parse(idParam, request.params, 'path');
    return withGraph((await callMaster(master, httpContext(request), Opcode.DAG_STATUS, { dagId: id })) as DagStatusView);
  });

  app.post('/api/v1/dags', async (request, reply) => {
    const body = parse(DagSubmitBody, request.body, 'body');
    let submit: unknown = body;
    if ('yaml' in body) {
      const parsed = parsePipeline(body.yaml);
      if (!parsed.ok) throw new TitanError(ErrorCode.INVALID_REQUEST, `${parsed.problems.length} problem(s) in the pipeline:\n${formatProblems('pipeline.yaml', parsed.problems)}`);
      if (parsed.pipeline.project) await noFiles.uploadFolder();
      if (parsed.pipeline.jobs.some((j) => j.file !== undefined)) await noFiles.upload();
      submit = { name: parsed.pipeline.name, jobs: await pipelineToDagJobs(parsed.pipeline, 'pipeline.yaml', noFiles) };
    }
    const answer = await callMaster(master, httpContext(request), Opcode.DAG_SUBMIT, submit);
    return reply.code(201).send(answer);
  });

  app.post('/api/v1/dags/:id/cancel', async (request) => {
    const { id } = parse(idParam, request.params, 'path');
    return withGraph((await callMaster(master, httpContext(request), Opcode.DAG_CANCEL, { dagId: id })) as DagStatusView);
  });
}
