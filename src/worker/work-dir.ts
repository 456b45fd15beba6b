/**
 * The worker's folder: private to the worker (0700). When jobs run as another user, their
 * workspaces need a path that user can pass through: `<work dir>/jobs` and `/shared` (0711: reach
 * your own by name, list nothing) when every folder above lets it through, else a folder of the
 * worker's own under /var/lib/titan-jobs (a root-only parent, so no one can plant it first), which
 * `/root/.titan`, the default for root, needs.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from '../common/log.js';
import { unreachableFor, type JobUser } from './job-user.js';

/** Not /var/lib/titan, which the README suggests as the master's (private) data dir. */
export const FALLBACK_JOBS_ROOT = '/var/lib/titan-jobs';

export interface WorkDirLayout {
  /** Holds `jobs/<job id>` and `shared/<dag id>`. */
  readonly jobsRoot: string;
  /** Set when the work dir itself was out of the job user's reach: the folder that blocked it. */
  readonly blockedBy: string | null;
}

export function prepareWorkDir(workDir: string, jobUser: JobUser | null): void {
  // Folders above it get the usual mode: they are not the worker's to close.
  mkdirSync(dirname(workDir), { recursive: true });
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  chmodSync(workDir, jobUser !== null ? 0o711 : 0o700);
  mkdirSync(join(workDir, 'artifacts'), { recursive: true, mode: 0o700 });
  chmodSync(join(workDir, 'artifacts'), 0o700);
}

/** Where this worker's job workspaces go; creates `jobs/` and `shared/` there with their modes. */
export function layoutJobs(workDir: string, workerId: string, jobUser: JobUser | null): WorkDirLayout {
  const blockedBy = jobUser !== null ? unreachableFor(jobUser, workDir) : null;
  const jobsRoot = blockedBy === null ? workDir : join(FALLBACK_JOBS_ROOT, workerId);
  if (blockedBy !== null) {
    mkdirSync(FALLBACK_JOBS_ROOT, { recursive: true, mode: 0o711 });
    const st = lstatSync(FALLBACK_JOBS_ROOT);
    if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new Error(
        `${FALLBACK_JOBS_ROOT} must be a folder owned by root that only root may write; fix it, or give --work-dir a folder the job user can reach`,
      );
    }
    chmodSync(FALLBACK_JOBS_ROOT, 0o711);
    mkdirSync(jobsRoot, { recursive: true, mode: 0o711 });
    chmodSync(jobsRoot, 0o711);
    const stillBlocked = jobUser !== null ? unreachableFor(jobUser, jobsRoot) : null;
    if (stillBlocked !== null)
      throw new Error(
        `the job user ${jobUser?.name ?? ''} can reach neither ${workDir} nor ${jobsRoot} (${stillBlocked} lets no one through); give --work-dir a folder it can reach`,
      );
  }
  const mode = jobUser !== null ? 0o711 : 0o700;
  for (const sub of ['jobs', 'shared']) {
    mkdirSync(join(jobsRoot, sub), { recursive: true, mode });
    chmodSync(join(jobsRoot, sub), mode);
  }
  return { jobsRoot, blockedBy };
}

/** Says at start where workspaces are and, when jobs run as the worker, what that exposes. */
export function logJobPlacement(log: Logger, workDir: string, layout: WorkDirLayout, jobUser: JobUser | null): void {
  const { blockedBy, jobsRoot } = layout;
  if (blockedBy !== null) log.info({ workDir, blockedBy, jobsRoot }, `the job user cannot pass through ${blockedBy}, so job workspaces are in ${jobsRoot}`);
  if (jobUser === null)
    log.warn(
      { workDir },
      "jobs run as this worker's own user, so they can read its token (its environment, memory and files): run the worker as root to have jobs run as titan-job (--job-user)",
    );
}
