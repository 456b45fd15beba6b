/**
 * What a fence costs per job: N sequential /bin/true through the worker's executor, unconfined
 * (the fast path), in a per-job cgroup with a memory limit, and in the bwrap sandbox. Each
 * figure is the p50 wall time from start() to the job's end; a mechanism this machine lacks is
 * reported as null with its reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Executor, type StartRequest } from '../src/worker/executor.js';
import { Confiner } from '../src/worker/confine/confiner.js';
import { now, percentile, round, within } from './measure.js';

export interface ConfineFigures {
  readonly unconfined_p50_ms: number;
  readonly cgroup_p50_ms: number | null;
  readonly sandbox_p50_ms: number | null;
  readonly skipped: Record<string, string>;
}

async function p50(executor: Executor, root: string, jobs: number, extra: Partial<StartRequest>, limitMs: number): Promise<number> {
  const samples: number[] = [];
  const deadline = now() + limitMs;
  for (let i = 0; i < jobs && now() < deadline; i++) {
    const t0 = now();
    const result = await executor.start({
      jobId: `b${i}`,
      attempt: 1,
      run: { kind: 'command', command: '/bin/true' },
      args: [],
      env: { PATH: '/usr/bin:/bin' },
      workspace: join(root, `b${i}`),
      ...extra,
    }).done;
    if (result.exitCode !== 0) throw new Error(`/bin/true failed: ${result.error ?? `exit ${String(result.exitCode)}`}`);
    samples.push(now() - t0);
  }
  return round(percentile(samples, 50), 3);
}

export async function confinementCost(jobs: number, limitMs: number): Promise<ConfineFigures> {
  const root = mkdtempSync(join(tmpdir(), 'titan-bench-confine-'));
  const confiner = Confiner.probe({ workerId: `bench-${process.pid}`, limits: 'auto', pidsLimit: 0, sandbox: true });
  const executor = new Executor({ confiner, stdioGraceMs: 1000 });
  const skipped: Record<string, string> = {};
  try {
    return await within(
      'confinement cost',
      limitMs * 3,
      (async () => {
        const unconfined = await p50(executor, root, jobs, {}, limitMs);
        let cgroup: number | null = null;
        if (confiner.cgroups !== null) cgroup = await p50(executor, root, jobs, { resources: { memoryMb: 256 } }, limitMs);
        else skipped.cgroup = confiner.report.cgroups ?? 'no cgroups';
        let sandbox: number | null = null;
        if (confiner.bwrap !== null) sandbox = await p50(executor, root, jobs, { driver: 'sandbox' }, limitMs);
        else skipped.sandbox = confiner.report.sandbox ?? 'no bwrap';
        return { unconfined_p50_ms: unconfined, cgroup_p50_ms: cgroup, sandbox_p50_ms: sandbox, skipped };
      })(),
    );
  } finally {
    await executor.close();
    confiner.close();
    rmSync(root, { recursive: true, force: true });
  }
}
