import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep, isAbsolute } from 'node:path';
import { TitanError, ErrorCode } from '../common/errors.js';
import type { DagJobRequest } from '../protocol/messages.js';
import type { Pipeline, PipelineJob } from '../pipeline/pipeline.js';

export interface Uploader {
  upload(data: Uint8Array): Promise<string>;
  uploadFolder(folder: string): Promise<string>;
  /**
   * When set, a job's script is not read from disk: its artifact is the one this returns for the
   * script's path in the pipeline's folder (an HTTP client uploaded it beforehand).
   */
  uploadedScript?(relativeName: string, where: string): string;
}

function scriptPath(baseDir: string, job: PipelineJob, file: string): { absolute: string; relativeName: string } {
  if (isAbsolute(file) || file.split(/[\\/]/).includes('..')) {
    throw new TitanError(ErrorCode.UNSAFE_PATH, `job ${job.id} (line ${job.line}): file "${file}" must be a path inside the pipeline's folder, without ".."`);
  }
  const absolute = resolve(baseDir, file);
  return { absolute, relativeName: relative(baseDir, absolute).split(sep).join('/') };
}

/**
 * Turns a validated pipeline into the DAG jobs the master takes: scripts uploaded (content
 * addressed, each once), and with `project: true` the pipeline's folder as every job's workspace.
 */
export async function pipelineToDagJobs(pipeline: Pipeline, pipelineFile: string, uploader: Uploader): Promise<DagJobRequest[]> {
  const baseDir = dirname(resolve(pipelineFile));
  const bundle = pipeline.project ? await uploader.uploadFolder(baseDir) : undefined;
  const uploaded = new Map<string, string>();
  const jobs: DagJobRequest[] = [];
  for (const job of pipeline.jobs) {
    let run: DagJobRequest['run'];
    if (job.file !== undefined) {
      const { absolute, relativeName } = scriptPath(baseDir, job, job.file);
      let artifact = uploader.uploadedScript?.(relativeName, `job ${job.id} (line ${job.line})`) ?? uploaded.get(absolute);
      if (artifact === undefined) {
        artifact = await uploader.upload(await readFile(absolute).catch(() => {
          throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job.id} (line ${job.line}): file ${job.file} not found next to the pipeline (${absolute})`);
        }));
        uploaded.set(absolute, artifact);
      }
      run = { kind: 'script', fileName: relativeName, artifact };
    } else {
      run = { kind: 'command', command: job.command ?? '' };
    }
    jobs.push({
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
    });
  }
  return jobs;
}
