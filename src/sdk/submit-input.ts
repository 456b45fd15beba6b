import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { JobSubmitRequest } from '../protocol/messages.js';

/** A job as `submit` takes it: the master's request with a local script `file` or a `command` in place of `run`, and an optional `project` folder to ship beside it. */
export type SubmitInput = Omit<JobSubmitRequest, 'run' | 'bundle'> & ({ file: string; project?: string } | { command: string; project?: string });

/** Turns a submit input's local files into the master's artifacts: the script's bytes and the project folder's archive (one upload per folder per client). */
export class LocalUploads {
  private readonly folders = new Map<string, string>();

  constructor(private readonly upload: (data: Uint8Array) => Promise<string>) {}

  async toRequest(input: SubmitInput): Promise<JobSubmitRequest> {
    const { ...rest } = input as SubmitInput & { file?: string; command?: string; project?: string };
    delete rest.file;
    delete rest.command;
    delete rest.project;
    const bundle = input.project !== undefined ? await this.folder(input.project) : undefined;
    const withBundle = bundle !== undefined ? { ...rest, bundle } : rest;
    if ('file' in input) {
      const artifact = await this.upload(await readFile(input.file));
      const fileName = input.project !== undefined ? projectRelative(input.project, input.file) : basename(input.file);
      return { ...withBundle, run: { kind: 'script', fileName, artifact } };
    }
    return { ...withBundle, run: { kind: 'command', command: input.command } };
  }

  /** Archives a folder (without node_modules and .git) and uploads it; returns the archive's hash. */
  async folder(folder: string): Promise<string> {
    const cached = this.folders.get(resolve(folder));
    if (cached !== undefined) return cached;
    const dir = await mkdtemp(join(tmpdir(), 'titan-bundle-'));
    try {
      const archive = join(dir, 'bundle.tgz');
      await (await import('../protocol/bundle.js')).createBundle(folder, archive);
      const hash = await this.upload(await readFile(archive));
      this.folders.set(resolve(folder), hash);
      return hash;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

function projectRelative(project: string, file: string): string {
  const rel = relative(resolve(project), resolve(file));
  if (rel.startsWith('..') || rel.startsWith(sep)) {
    throw new TitanError(ErrorCode.INVALID_REQUEST, `script ${file} is not inside the project folder ${project}; move it there or drop --project`);
  }
  return rel.split(sep).join('/');
}
