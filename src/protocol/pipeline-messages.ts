import { z } from 'zod';
import { MISFIRE_POLICIES, OVERLAP_POLICIES } from '../core/schedule.js';

/**
 * PIPELINE_SUBMIT: a YAML pipeline as its text, parsed and checked by the master, never by the client.
 *
 * The files it names travel as artifacts: the client uploads each `file:` script (ARTIFACT_PUT)
 * and, for `project: true`, its folder as a .tar.gz, and names their hashes here. A client cannot
 * know which files a pipeline names without reading it, so it may first send none: the master then
 * answers `{ missing }` (what to upload, with each job's line) and submits nothing; the client
 * uploads those and sends the same request again with `files` / `project` filled in.
 */

const hash = z.string().regex(/^[a-f0-9]{64}$/, 'an artifact hash is the 64 hex characters ARTIFACT_PUT answered');
const id = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'ids are 1-128 characters of letters, digits, dot, dash or underscore');

export const PipelineSubmitRequest = z
  .object({
    // Its size is checked by the pipeline limits (--max-pipeline-size), which name the flag.
    yaml: z.string().min(1),
    /** The file name problems are reported against (`<source>:<line>: ...`). */
    source: z.string().min(1).max(1024).default('pipeline.yaml'),
    /** Each `file:` path as written in the pipeline (relative to its folder) → its uploaded artifact. */
    files: z.record(z.string().min(1).max(1024), hash).default({}),
    /** With `project: true`: the pipeline's folder, uploaded as a .tar.gz. */
    project: hash.optional(),
    /** Add the jobs to this running DAG (as DAG_ADD_JOBS); parents may name its jobs. */
    dagId: id.optional(),
    /** Hold the run, as DAG_SUBMIT's fields. */
    runAt: z.number().int().min(0).max(8.64e15).optional(),
    delaySeconds: z
      .number()
      .min(0)
      .max(30 * 86400)
      .optional(),
    /** Keep the pipeline as a cron schedule (as SCHEDULE_ADD) instead of running it now. */
    schedule: z
      .object({
        cron: z.string().min(1).max(200),
        tz: z.string().min(1).max(100).optional(),
        overlap: z.enum(OVERLAP_POLICIES).optional(),
        misfire: z.enum(MISFIRE_POLICIES).optional(),
      })
      .optional(),
  })
  .refine((r) => r.dagId === undefined || r.schedule === undefined, { message: 'give dagId (add to a running DAG) or schedule, not both' });
export type PipelineSubmitRequest = z.input<typeof PipelineSubmitRequest>;

/** A script the pipeline names that the request did not carry. */
export interface MissingFile {
  /** As written after `file:`, relative to the pipeline's folder. */
  readonly path: string;
  readonly job: string;
  readonly line: number;
}

/** The answer when files are missing: nothing was submitted; upload these and send the request again. */
export interface PipelineMissingReply {
  readonly missing: { readonly files: readonly MissingFile[]; readonly project: boolean };
}
