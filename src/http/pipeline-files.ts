import { z } from 'zod';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { MasterReadModel } from '../master/ports.js';
import type { Uploader } from '../sdk/pipeline-jobs.js';

const hash = z.string().regex(/^[a-f0-9]{64}$/, 'an artifact hash is the 64 hex characters POST /api/v1/artifacts answered');

/**
 * What a YAML pipeline sent over HTTP brings instead of a folder on disk: each `file:` script as
 * an artifact uploaded beforehand (POST /api/v1/artifacts), named by its path in `files`, and for
 * `project: true` the folder as an uploaded .tar.gz in `project`.
 */
export const PipelineFiles = z.object({
  files: z.record(z.string().min(1).max(1024), hash).default({}),
  project: hash.optional(),
});
export type PipelineFiles = z.output<typeof PipelineFiles>;

function mustExist(reads: Pick<MasterReadModel, 'hasArtifact'>, artifact: string, what: string): string {
  if (!reads.hasArtifact(artifact)) {
    throw new TitanError(ErrorCode.UNKNOWN_ARTIFACT, `${what}: no artifact ${artifact} on this master; upload the bytes first (POST /api/v1/artifacts) and use the hash it answers`);
  }
  return artifact;
}

/** The pipeline's scripts and folder, from what the request named; never the master's own disk. */
export function uploadedFiles(reads: Pick<MasterReadModel, 'hasArtifact'>, given: PipelineFiles): Uploader {
  return {
    upload: () => Promise.reject(new TitanError(ErrorCode.INTERNAL, 'an HTTP pipeline reads no files')),
    uploadFolder: async () => {
      if (given.project === undefined) {
        throw new TitanError(ErrorCode.INVALID_REQUEST, 'project: true needs the pipeline folder: POST it as a .tar.gz to /api/v1/artifacts (tar czf - -C <folder> .) and send its hash as "project"');
      }
      return mustExist(reads, given.project, 'project');
    },
    uploadedScript: (relativeName, where) => {
      const artifact = given.files[relativeName] ?? given.files[`./${relativeName}`];
      if (artifact === undefined) {
        throw new TitanError(ErrorCode.INVALID_REQUEST, `${where}: file ${relativeName} was not sent: POST its bytes to /api/v1/artifacts and name the hash in "files": {"${relativeName}": "<hash>"}`);
      }
      return mustExist(reads, artifact, `${where}: file ${relativeName}`);
    },
  };
}
