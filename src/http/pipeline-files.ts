import { z } from 'zod';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { PipelineMissingReply } from '../protocol/pipeline-messages.js';

const hash = z.string().regex(/^[a-f0-9]{64}$/, 'an artifact hash is the 64 hex characters POST /api/v1/artifacts answered');

/**
 * What a YAML pipeline sent over HTTP brings instead of a folder on disk: each `file:` script as
 * an artifact uploaded beforehand (POST /api/v1/artifacts), named by its path in `files`, and for
 * `project: true` the folder as an uploaded .tar.gz in `project`. The master parses the YAML
 * (PIPELINE_SUBMIT); this route only passes them on.
 */
export const PipelineFiles = z.object({
  files: z.record(z.string().min(1).max(1024), hash).default({}),
  project: hash.optional(),
});

/** An HTTP caller sends everything in one request: what PIPELINE_SUBMIT found missing is refused, naming the fix. */
export function refuseMissing({ missing }: PipelineMissingReply): never {
  if (missing.project) {
    throw new TitanError(
      ErrorCode.INVALID_REQUEST,
      'project: true needs the pipeline folder: POST it as a .tar.gz to /api/v1/artifacts (tar czf - -C <folder> .) and send its hash as "project"',
    );
  }
  const lines = missing.files.map(
    (f) =>
      `job ${f.job} (line ${f.line}): file ${f.path} was not sent: POST its bytes to /api/v1/artifacts and name the hash in "files": {"${f.path}": "<hash>"}`,
  );
  throw new TitanError(ErrorCode.INVALID_REQUEST, lines.join('\n'));
}
