/** Turns a failure to start a job's process into words that name the problem and the fix. */
import { chmod, stat } from 'node:fs/promises';
import { isDiskFull } from '../common/errors.js';
import type { JobRun } from '../core/job.js';
import type { Command } from './interpreter.js';

interface Attempt {
  readonly run: JobRun;
  readonly workspace: string;
  readonly env: Readonly<Record<string, string>>;
}

/** Lets a script without a known extension run as its own program. */
export async function makeExecutable(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & 0o100) === 0) await chmod(file, mode | 0o111);
}

export function describeSetupError(err: unknown, req: Attempt): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' && req.run.kind === 'script') {
    return `script "${req.run.fileName}" is not in the job workspace ${req.workspace}; check the job's files were staged`;
  }
  if (e.path === req.workspace) {
    return `cannot create the job workspace ${req.workspace}: ${e.message}; check the worker's work dir is writable`;
  }
  return e instanceof Error ? e.message : String(err);
}

export function describeSpawnError(err: NodeJS.ErrnoException, command: Command, req: Attempt): string {
  const what = req.run.kind === 'script' ? `script "${req.run.fileName}"` : `command "${req.run.command}"`;
  switch (err.code) {
    case 'ENOENT':
      if (command.interpreter !== undefined) {
        return `${command.interpreter} was not found on this worker (PATH=${req.env.PATH ?? ''}), needed to run ${what}: install it there, or give the job a requirement tag only workers with it carry`;
      }
      return `"${command.file}" was not found (PATH=${req.env.PATH ?? ''}), needed to run ${what}: install it or use its absolute path`;
    case 'EACCES':
      return `permission denied running "${command.file}" for ${what}: make it executable (chmod +x) and check its filesystem is not mounted noexec`;
    case 'ENOEXEC':
      return `"${command.file}" is not a program this system can run (${what}): add a #! line naming its interpreter, or use a known extension (.py .sh .js .ts .jar)`;
    default:
      return `could not start ${what}: ${err.message}`;
  }
}

/** Why a job could not be prepared; a full disk is named as such, with the fix. */
export function preparationError(err: unknown, workDir: string): string {
  const message = (err as Error).message;
  if (isDiskFull(err)) return `could not prepare the job: the worker's disk is full (work dir ${workDir}): ${message}; free space there`;
  return `could not prepare the job: ${message}`;
}
