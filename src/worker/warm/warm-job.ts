/**
 * Forks one job from the warm interpreter with its fences: the child joins the job's cgroup, sets
 * its rlimits and drops to the job's user itself, before the script's first line, as the spawn
 * path's wrappers (the cgroup join shell, prlimit, the spawn's uid/gid) do for a cold start.
 */
import type { Confiner, Confinement } from '../confine/confiner.js';
import type { Command } from '../interpreter.js';
import type { WarmChild } from './warm-child.js';
import { warmArgv, type WarmPythons } from './warm-pythons.js';

export interface WarmJobRequest {
  readonly jobId: string;
  readonly attempt: number;
  readonly env: Readonly<Record<string, string>>;
  readonly workspace: string;
  readonly resources?: Parameters<Confiner['fence']>[0]['resources'];
  readonly user?: { readonly uid: number; readonly gid: number } | undefined;
}

export interface ForkedJob {
  readonly child: WarmChild;
  readonly confinement: Confinement | null;
  /** Hands the child its job: call once its pid has been recorded. */
  begin(): void;
  /** Kills the child before it ran anything and frees its fences (the job was stopped meanwhile). */
  abandon(): void;
}

/** The forked job, or null when the server gave no child (start the job cold); throws when its fences cannot be made. */
export async function forkWarmJob(warm: WarmPythons, confiner: Confiner | undefined, req: WarmJobRequest, command: Command): Promise<ForkedJob | null> {
  const fence = confiner?.fence(req) ?? null;
  const child = await warm.fork();
  if (child === null) {
    fence?.release();
    return null;
  }
  return {
    child,
    confinement: fence === null ? null : { ...fence, command },
    begin: () =>
      child.start({
        argv: warmArgv(command),
        env: warm.jobEnv(req.env, req.workspace),
        cwd: req.workspace,
        ...(fence !== null && fence.cgroupProcs.length > 0 ? { cgroups: fence.cgroupProcs } : {}),
        ...(fence !== null && Object.keys(fence.rlimits).length > 0 ? { rlimits: fence.rlimits } : {}),
        ...(req.user !== undefined ? { user: req.user } : {}),
      }),
    abandon: () => {
      child.discard();
      fence?.release();
    },
  };
}
