/**
 * The sandbox driver's command line: bubblewrap (bwrap) puts the job in new mount, PID (and
 * optionally network) namespaces: the host read-only, a private /tmp, only the job's workspace
 * (and its DAG's shared folder) writable, and PID 1 of the namespace dying with the job, which
 * takes every process of the job with it.
 */
import { spawnSync } from 'node:child_process';
import type { Command } from '../interpreter.js';

export interface SandboxRequest {
  readonly workspace: string;
  /** Other folders the job may write (the DAG's shared folder). */
  readonly writable: readonly string[];
  readonly network: 'host' | 'none';
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
  if (trial.status !== 0) return { bwrap: null, why: `bwrap cannot create namespaces here: ${(trial.stderr || trial.error?.message || `exit ${String(trial.status)}`).trim()}` };
  return { bwrap, why: '' };
}

function sandboxArgs(req: SandboxRequest): string[] {
  const args = [
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    '--tmpfs', '/dev/shm',
    '--unshare-pid', '--unshare-ipc', '--unshare-uts',
    '--die-with-parent',
  ];
  if (req.network === 'none') args.push('--unshare-net');
  // After /tmp so that a workspace under /tmp is bound over the private tmpfs.
  for (const dir of [req.workspace, ...req.writable]) args.push('--bind', dir, dir);
  args.push('--chdir', req.workspace);
  return args;
}

/** `command` run inside the sandbox. */
export function sandboxed(bwrap: string, req: SandboxRequest, command: Command): Command {
  return { ...command, file: bwrap, argv: [...sandboxArgs(req), '--', command.file, ...command.argv] };
}
