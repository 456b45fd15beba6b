import { posix } from 'node:path';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { DagJobRequest } from '../protocol/messages.js';
import type { MissingFile, PipelineMissingReply } from '../protocol/pipeline-messages.js';
import type { Pipeline, PipelineJob } from '../pipeline/pipeline.js';

/** What a PIPELINE_SUBMIT carried for the files its pipeline names: artifacts uploaded beforehand. */
export interface PipelineUploads {
  readonly files: Readonly<Record<string, string>>;
  readonly project?: string | undefined;
  has(artifact: string): boolean;
}

/** A `file:` as a path inside the pipeline's folder (`./a/b.py` → `a/b.py`); refused when it leaves the folder. */
export function scriptName(job: PipelineJob, file: string): string {
  if (posix.isAbsolute(file) || /^[A-Za-z]:/.test(file) || file.split(/[\\/]/).includes('..')) {
    throw new TitanError(ErrorCode.UNSAFE_PATH, `job ${job.id} (line ${job.line}): file "${file}" must be a path inside the pipeline's folder, without ".."`);
  }
  return posix.normalize(file.replace(/\\/g, '/')).replace(/^(\.\/)+/, '');
}

function uploaded(uploads: PipelineUploads, name: string): string | undefined {
  return uploads.files[name] ?? uploads.files[`./${name}`];
}

function mustExist(uploads: PipelineUploads, artifact: string, what: string): string {
  if (!uploads.has(artifact)) {
    throw new TitanError(
      ErrorCode.UNKNOWN_ARTIFACT,
      `${what}: no artifact ${artifact} on this master; upload the bytes first (ARTIFACT_PUT, or POST /api/v1/artifacts) and use the hash it answers`,
    );
  }
  return artifact;
}

/** The files the pipeline names that the request did not carry; undefined when nothing is missing. */
export function missingUploads(pipeline: Pipeline, uploads: PipelineUploads): PipelineMissingReply | undefined {
  const files: MissingFile[] = [];
  const seen = new Set<string>();
  for (const job of pipeline.jobs) {
    if (job.file === undefined) continue;
    const path = scriptName(job, job.file);
    if (uploaded(uploads, path) !== undefined || seen.has(path)) continue;
    seen.add(path);
    files.push({ path, job: job.id, line: job.line });
  }
  const project = pipeline.project && uploads.project === undefined;
  return files.length === 0 && !project ? undefined : { missing: { files, project } };
}

/**
 * Turns a checked pipeline into the DAG jobs the master takes, each script and the project folder
 * being the artifact the request named for it (call `missingUploads` first).
 */
export function pipelineToDagJobs(pipeline: Pipeline, uploads: PipelineUploads): DagJobRequest[] {
  const bundle = pipeline.project && uploads.project !== undefined ? mustExist(uploads, uploads.project, 'project') : undefined;
  return pipeline.jobs.map((job): DagJobRequest => {
    let run: DagJobRequest['run'];
    if (job.file !== undefined) {
      const fileName = scriptName(job, job.file);
      const artifact = uploaded(uploads, fileName);
      if (artifact === undefined)
        throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job.id} (line ${job.line}): file ${fileName} was not sent with the pipeline`);
      run = { kind: 'script', fileName, artifact: mustExist(uploads, artifact, `job ${job.id} (line ${job.line}): file ${fileName}`) };
    } else {
      run = { kind: 'command', command: job.command ?? '' };
    }
    return {
      key: job.id,
      name: job.id,
      run,
      args: [...job.args],
      env: { ...job.env },
      requirement: [...job.requirement],
      priority: job.priority,
      retries: job.retries,
      timeoutSeconds: job.timeoutSeconds,
      parents: [...job.dependsOn],
      triggerRule: job.triggerRule,
      affinity: job.affinity,
      retryBackoff: { ...job.retryBackoff },
      delaySeconds: job.delaySeconds,
      ...(job.runAt !== undefined ? { runAt: job.runAt } : {}),
      ...(job.onFailure !== null ? { onFailure: job.onFailure } : {}),
      ...(job.approval !== null ? { approval: { message: job.approval.message, timeoutSeconds: job.approval.timeoutSeconds } } : {}),
      ...(job.hitl !== null ? { hitl: { message: job.hitl.message, maxWaitSeconds: job.hitl.maxWaitSeconds } } : {}),
      ...(bundle !== undefined ? { bundle } : {}),
      ...(job.type === 'service' ? { service: { port: typeof job.port === 'number' ? job.port : null } } : {}),
      ...(job.resources !== null ? { resources: { ...job.resources } } : {}),
      ...(job.driver !== null ? { driver: job.driver } : {}),
      ...(job.network !== null ? { network: job.network } : {}),
      ...(job.image !== null ? { image: job.image } : {}),
    };
  });
}
