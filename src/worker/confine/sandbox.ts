/**
 * The sandbox driver's command line: bubblewrap (bwrap) puts the job in new mount, PID (and
 * optionally network) namespaces: the host read-only, a private /tmp, only the job's workspace
 * (and its DAG's shared folder) writable, and PID 1 of the namespace dying with the job, which
 * takes every process of the job with it.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Command } from '../interpreter.js';

export interface SandboxRequest {
  readonly workspace: string;
  /** Other folders the job may write (the DAG's shared folder). */
  readonly writable: readonly string[];
  readonly network: 'host' | 'none';
  /** Host folders and files replaced by empty ones (the worker's files, /root, password hashes). */
  readonly hidden?: readonly string[];
  /** Host folders bound read-only after the hidden ones. */
  readonly shown?: readonly string[];
}

export interface SandboxProbe {
  readonly bwrap: string | null;
  /** Why the sandbox driver is unavailable, when it is. */
  readonly why: string;
}

/** Finds bwrap and checks that it can create the namespaces here (containers often forbid it). */
export function probeSandbox(): SandboxProbe {
  const which = spawnSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' });
  const bwrap = which.status === 0 ? which.stdout.trim() : '';
  if (bwrap === '') return { bwrap: null, why: 'bwrap (Debian package bubblewrap) is not installed' };
  const trial = spawnSync(bwrap, [...sandboxArgs({ workspace: '/tmp', writable: [], network: 'none' }), '--', 'true'], { encoding: 'utf8', timeout: 10_000 });
  if (trial.status !== 0)
    return { bwrap: null, why: `bwrap cannot create namespaces here: ${(trial.stderr || trial.error?.message || `exit ${String(trial.status)}`).trim()}` };
  return { bwrap, why: '' };
}

function sandboxArgs(req: SandboxRequest): string[] {
  const args = [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    // World-writable and sticky, as on the host: the job runs as an unprivileged user.
    '--perms',
    '1777',
    '--tmpfs',
    '/tmp',
    '--perms',
    '1777',
    '--tmpfs',
    '/dev/shm',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
  ];
  if (req.network === 'none') args.push('--unshare-net');
  for (const target of [...ALWAYS_HIDDEN, ...(req.hidden ?? [])]) {
    const kind = kindOf(target);
    if (kind === 'dir') args.push('--tmpfs', target);
    else if (kind === 'file') args.push('--ro-bind', '/dev/null', target);
  }
  // After /tmp and the hidden folders, so that a workspace under either is bound over them; the
  // folders bwrap makes on the way there would be 0700 root, closed to the job's user: 0711.
  const binds = [...[req.workspace, ...req.writable].map((dir) => ['--bind', dir] as const), ...(req.shown ?? []).map((dir) => ['--ro-bind', dir] as const)];
  for (const [how, dir] of binds) {
    for (const folder of ancestorsOf(dir)) args.push('--perms', '0711', '--dir', folder);
    args.push(how, dir, dir);
  }
  args.push('--chdir', req.workspace);
  return args;
}

/** Secrets of the host a job never needs, whoever it runs as. */
const ALWAYS_HIDDEN = ['/root', '/etc/shadow', '/etc/gshadow', '/etc/shadow-', '/etc/gshadow-'];

/** `/a/b/c` → `/a`, `/a/b`. */
function ancestorsOf(dir: string): string[] {
  const parts = dir.split('/').filter((p) => p !== '');
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

function kindOf(target: string): 'dir' | 'file' | null {
  try {
    return statSync(target).isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
}

/** `command` run inside the sandbox. */
export function sandboxed(bwrap: string, req: SandboxRequest, command: Command): Command {
  return { ...command, file: bwrap, argv: [...sandboxArgs(req), '--', command.file, ...command.argv] };
}
