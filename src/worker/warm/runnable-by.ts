import { statSync } from 'node:fs';
import { dirname } from 'node:path';

/** A user jobs run as, who may not be the worker's (a root worker's job user). */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Whether this user can execute the file: search permission on every folder above it and execute
 * on the file, by the owner, group or other bits that apply to them. A root worker's pyenv under
 * /root is not: its jobs start another python3 from PATH, and the warm server must be that one.
 */
export function runnableBy(file: string, user: RunAs): boolean {
  try {
    for (let path = file; ; path = dirname(path)) {
      if (!permits(path, user)) return false;
      if (dirname(path) === path) return true;
    }
  } catch {
    return false;
  }
}

function permits(path: string, user: RunAs): boolean {
  const stat = statSync(path);
  if (user.uid === 0) return true;
  if (stat.uid === user.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === user.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}
