/**
 * The unprivileged account a root worker runs its jobs as, so that a job cannot read what the
 * worker holds: its environment and memory (/proc/<worker>/environ, mem: another uid), its token
 * and data files (0600, root's), /etc/shadow. One fixed account (`titan-job` by default) rather
 * than a uid per slot: the jobs of one DAG share a folder and a service's restarts reuse its files,
 * which one owner keeps simple; the cost is that jobs on one worker are not hidden from each other
 * (docs/SECURITY.md).
 */
import { spawnSync } from 'node:child_process';
import { readdir, lchown, mkdir, rm } from 'node:fs/promises';
import { lchownSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface JobUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export const DEFAULT_JOB_USER = 'titan-job';

/** `name` or `uid:gid`; `worker` keeps jobs as the worker's own user. null: jobs run as the worker. */
export function resolveJobUser(spec: string | undefined, isRoot: boolean): JobUser | null {
  if (spec === 'worker') return null;
  if (!isRoot) {
    if (spec === undefined) return null;
    throw new Error(`--job-user ${spec}: only a worker running as root can run jobs as another user; start it as root, or leave --job-user out`);
  }
  const wanted = spec ?? DEFAULT_JOB_USER;
  const numeric = /^(\d+):(\d+)$/.exec(wanted);
  if (numeric !== null) {
    const uid = Number(numeric[1]);
    const gid = Number(numeric[2]);
    if (uid === 0 || gid === 0) throw new Error(`--job-user ${wanted}: jobs may not run as root; give an unprivileged uid:gid`);
    return { name: wanted, uid, gid };
  }
  return lookUp(wanted) ?? create(wanted);
}

function lookUp(name: string): JobUser | null {
  const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (entry.status !== 0) return null;
  const fields = entry.stdout.trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  if (uid === 0) throw new Error(`--job-user ${name} is root (uid 0); jobs need an unprivileged user`);
  return { name, uid, gid };
}

/** A system account without a home or a login shell, as packages create theirs. */
function create(name: string): JobUser {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new Error(`--job-user ${name} does not exist and is not a name useradd accepts`);
  const made = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], {
    encoding: 'utf8',
  });
  // Another worker on the host may have created it at the same moment (exit 9: already exists).
  const user = lookUp(name);
  if (user === null) {
    const why = made.error?.message ?? made.stderr.trim();
    throw new Error(
      `cannot create the job user ${name}: ${why || `useradd exit ${String(made.status)}`}; create it (useradd --system ${name}), name another with --job-user, or --job-user worker to run jobs as the worker (jobs can then read its token)`,
    );
  }
  return user;
}

/**
 * The first folder on the way to `dir` the user cannot pass through (no search permission for it),
 * or null when it can reach `dir`. Checked at start so a misplaced work dir fails there, named.
 */
export function unreachableFor(user: JobUser, dir: string): string | null {
  const chain: string[] = [];
  for (let at = dir; ; at = dirname(at)) {
    chain.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const folder of chain) {
    let st;
    try {
      st = statSync(folder);
    } catch {
      return null; // not made yet: the worker creates it with its own modes
    }
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return folder;
  }
  return null;
}

/**
 * Makes `workspace` a new, empty folder of the worker's own. A previous attempt ran as the job user
 * and may have left links pointing anywhere in it: such a folder is removed and made again, never
 * written into. The usual case (no folder yet) is one synchronous mkdir: a syscall of microseconds,
 * where rm and mkdir through the promise API cost three trips through the thread pool per job.
 */
export async function freshWorkspace(workspace: string): Promise<void> {
  try {
    mkdirSync(workspace);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOENT') throw err;
  }
  await rm(workspace, { recursive: true, force: true });
  await mkdir(workspace, { recursive: true });
}

/** Gives an empty folder to the job user: one synchronous lchown, for the same reason as above. */
export function handOverEmpty(folder: string, user: JobUser): void {
  lchownSync(folder, user.uid, user.gid);
}

/** Gives a tree the worker prepared to the job user, never following a link out of it. */
export async function handOver(root: string, user: JobUser): Promise<void> {
  await lchown(root, user.uid, user.gid);
  const entries = await readdir(root, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) await handOver(path, user);
    else await lchown(path, user.uid, user.gid);
  }
}

/** What a job's environment says about who and where it is, once it runs as `user`. */
export function jobUserEnvironment(user: JobUser, workspace: string): Record<string, string> {
  return { USER: user.name, LOGNAME: user.name, HOME: workspace };
}
