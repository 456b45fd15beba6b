import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { TitanError, ErrorCode } from '../common/errors.js';
import { Opcode } from '../protocol/opcodes.js';
import type { PipelineMissingReply, PipelineSubmitRequest } from '../protocol/pipeline-messages.js';
import type { Requester } from './lazy-peer.js';

/** How the client puts the files a pipeline names on the master (TitanClient does it). */
export interface Uploader {
  upload(data: Uint8Array): Promise<string>;
  uploadFolder(folder: string): Promise<string>;
}

/** What the request is for besides the pipeline: a running DAG to grow, a schedule, a start time. */
export type PipelineTarget = Omit<PipelineSubmitRequest, 'yaml' | 'source' | 'files' | 'project'>;

function isMissing(answer: unknown): answer is PipelineMissingReply {
  return typeof answer === 'object' && answer !== null && 'missing' in answer;
}

/**
 * Sends a pipeline file to the master, which parses and checks it (PIPELINE_SUBMIT). A pipeline
 * that names scripts or `project: true` is answered with what to upload: those are read from the
 * pipeline's folder (only the client can), uploaded, and the request is sent again with them.
 */
export async function sendPipeline(peer: Requester, uploader: Uploader, file: string, target: PipelineTarget = {}): Promise<unknown> {
  const request: PipelineSubmitRequest = { yaml: await readFile(file, 'utf8'), source: file, ...target };
  const first = await peer.request(Opcode.PIPELINE_SUBMIT, request);
  if (!isMissing(first)) return first;
  const second = await peer.request(Opcode.PIPELINE_SUBMIT, { ...request, ...(await upload(uploader, dirname(resolve(file)), first)) });
  if (isMissing(second)) throw new TitanError(ErrorCode.INTERNAL, `the master still misses ${JSON.stringify(second.missing)} after they were uploaded; retry`);
  return second;
}

async function upload(uploader: Uploader, folder: string, { missing }: PipelineMissingReply): Promise<Pick<PipelineSubmitRequest, 'files' | 'project'>> {
  const files: Record<string, string> = {};
  for (const { path, job, line } of missing.files) {
    const absolute = resolve(folder, path);
    const bytes = await readFile(absolute).catch(() => {
      throw new TitanError(ErrorCode.INVALID_REQUEST, `job ${job} (line ${line}): file ${path} not found next to the pipeline (${absolute})`);
    });
    files[path] = await uploader.upload(bytes);
  }
  return { files, ...(missing.project ? { project: await uploader.uploadFolder(folder) } : {}) };
}
