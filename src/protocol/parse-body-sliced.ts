import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { ErrorCode, TitanError } from '../common/errors.js';
import { DagAddJobsRequest, DagJobRequest, DagSubmitRequest, describeIssues, MAX_DAG_JOBS } from './messages.js';
import { opcodeName } from './opcodes.js';
import { parseBody } from './parse-body.js';
import type { IncomingMessage } from './replier.js';

/** Jobs checked per turn of the loop: a few milliseconds of zod on a quiet machine. */
export const PARSE_SLICE_JOBS = 1_000;

const someJobs = z.array(z.unknown()).min(1).max(MAX_DAG_JOBS);
const sliceOfJobs = z.array(DagJobRequest);

/**
 * parseBody for a body that carries a list of DAG jobs (DAG_SUBMIT, DAG_ADD_JOBS): the rest of
 * the body and the list's length first, then the jobs a slice per turn of the loop, so a
 * 10,000-job request never holds the loop for the whole of its validation. The same errors as
 * parseBody (E_BAD_BODY naming each wrong field, e.g. `jobs.4711.run`); a short list is parsed
 * at once, exactly as parseBody does.
 */
export async function parseDagJobsBody<S extends typeof DagSubmitRequest | typeof DagAddJobsRequest>(schema: S, msg: IncomingMessage): Promise<z.output<S>> {
  const jobs = typeof msg.body === 'object' && msg.body !== null ? (msg.body as { jobs?: unknown }).jobs : undefined;
  if (!Array.isArray(jobs) || jobs.length <= PARSE_SLICE_JOBS) return parseBody(schema as z.ZodType, msg) as z.output<S>;
  const head = parseBody(schema.extend({ jobs: someJobs }), msg);
  const parsed: z.output<typeof DagJobRequest>[] = [];
  for (let at = 0; at < jobs.length; at += PARSE_SLICE_JOBS) {
    await nextTurn();
    const result = sliceOfJobs.safeParse(jobs.slice(at, at + PARSE_SLICE_JOBS));
    if (!result.success) {
      const issues = result.error.issues.map((issue) => ({ ...issue, path: ['jobs', at + Number(issue.path[0]), ...issue.path.slice(1)] }));
      throw new TitanError(ErrorCode.BAD_BODY, `${opcodeName(msg.opcode)}: ${describeIssues(new z.ZodError(issues))}`);
    }
    parsed.push(...result.data);
  }
  return { ...head, jobs: parsed } as z.output<S>;
}
