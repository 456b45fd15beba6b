/** Everything a worker settles at start about where and as whom its jobs run (docs/SECURITY.md). */
import { dirname } from 'node:path';
import type { TlsClientFiles } from '../security/tls.js';
import { loadOrCreateWorkerId } from './identity.js';
import { tlsFilesForJobs } from './job-tls.js';
import { resolveJobUser, type JobUser } from './job-user.js';
import type { WorkerOptions } from './options.js';
import { layoutJobs, prepareWorkDir, type WorkDirLayout } from './work-dir.js';

export interface JobSetup {
  readonly id: string;
  readonly jobUser: JobUser | null;
  readonly layout: WorkDirLayout;
  /** The TLS files jobs dial the master with (copies their user may read). */
  readonly tls: TlsClientFiles | undefined;
  /** For the sandbox: host folders hidden, and folders shown read-only over them. */
  readonly hidden: readonly string[];
  readonly shown: readonly string[];
}

export function setUpJobs(options: WorkerOptions): JobSetup {
  const jobUser = resolveJobUser(options.jobUser, process.getuid?.() === 0);
  prepareWorkDir(options.workDir, jobUser);
  const id = options.workerId ?? loadOrCreateWorkerId(options.workDir);
  const layout = layoutJobs(options.workDir, id, jobUser);
  const tls = tlsFilesForJobs(options.tls, layout.jobsRoot, jobUser);
  return { id, jobUser, layout, tls, hidden: options.hiddenPaths ?? [options.workDir, layout.jobsRoot], shown: tls !== undefined ? [dirname(tls.ca)] : [] };
}
