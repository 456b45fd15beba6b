import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Cluster, until } from './harness.js';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMountinfo, parseProcCgroup, probeCgroups } from '../src/worker/confine/cgroup.js';

/** Whether this machine lets a worker make cgroups; the reason when not. */
function cgroupSupport(): string | null {
  const probe = probeCgroups(`probe-${process.pid}`);
  probe.host?.close();
  return probe.host === null ? probe.why : null;
}

describe('resources and limits on a real cluster', () => {
  const cluster = new Cluster();
  const noCgroups = cgroupSupport();
  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('limited', { slots: 3, args: ['--pids-limit', '64', '--memory', '2G', '--cpus', '2'] });
  });
  after(() => cluster.close());

  test('a job asking for more memory than any live worker has says it cannot fit, and the rest keeps flowing', async () => {
    const client = await cluster.client();
    const { jobId } = await client.submit({ command: 'true', resources: { memory: '64G' } });
    const view = await until('the job to be judged', async () => {
      const status = await client.status(jobId);
      return status.reason !== null && status.reason.includes('cannot fit') ? status : undefined;
    });
    assert.equal(view.state, 'queued');
    assert.match(view.reason ?? '', /cannot fit any live worker: it asks for memory=64G.*limited has 2G memory in all/);
    const jobs = await cluster.cli(['jobs', '--state', 'queued']);
    assert.match(jobs.stdout, /WHY[\s\S]*cannot fit any live worker/);
    const held = await client.submit({ command: 'sleep 30', resources: { memory: '512M', cpu: 1 } });
    await until('the reserving job to run', async () => (await client.status(held.jobId)).state === 'running');
    const reserved = (await client.stats()).workers.find((w) => w.id === 'limited')?.reserved;
    assert.deepEqual(reserved, { cpus: 1, memoryMb: 512, gpus: 0 });
    assert.deepEqual((await client.status(held.jobId)).resources, { cpu: 1, memoryMb: 512 });
    const table = await cluster.cli(['stats']);
    assert.match(table.stdout, /limited .* 1\/2 +512\/2048 +process/);
    await client.cancel(held.jobId);
    const small = await cluster.cli(['run', '--wait', '--memory', '64M', '--cpu', '0.5', '--', 'echo', 'small']);
    assert.equal(small.code, 0, small.stderr);
    await client.cancel(jobId);
  });

  test('resources declared in a pipeline file reach the job and are enforced on its worker', async () => {
    const file = join(cluster.dir, 'resources.yaml');
    writeFileSync(file, 'name: fenced\njobs:\n  - id: small\n    command: "echo fits"\n    resources: { cpu: 0.5, memory: 48M }\n    driver: process\n');
    const result = await cluster.cli(['dag', file, '--wait']);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const client = await cluster.client();
    const jobs = await client.list({ states: ['succeeded'], limit: 20 });
    const small = jobs.find((j) => j.name === 'small');
    assert.deepEqual(small?.resources, { cpu: 0.5, memoryMb: 48 });
    assert.equal(small?.driver, 'process');
  });

  test('a bad memory size is refused with the problem and the fix', async () => {
    const result = await cluster.cli(['run', '--memory', 'lots', '--', 'true']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /memory "lots" is not a size; write it like 256M/);
  });

  test('a job allocating past its memory limit ends oom, not as a vague failure', async (t) => {
    if (noCgroups !== null) {
      t.skip(`no writable cgroups here, so the kernel cannot OOM-kill within a limit: ${noCgroups}`);
      return;
    }
    const result = await cluster.cli([
      'run',
      '--wait',
      '--json',
      '--memory',
      '64M',
      '--',
      'python3',
      '-c',
      'x = b"x" * (512 * 1024 * 1024); print("survived")',
    ]);
    assert.equal(result.code, 1, result.stderr);
    const job = JSON.parse(result.stdout) as { state: string; reason: string; signal: string | null };
    assert.equal(job.state, 'failed');
    assert.match(job.reason, /^oom: killed by the kernel for using more than its memory limit of 64M/);
    assert.doesNotMatch(result.stdout, /^survived$/m);
    const listed = await cluster.cli(['jobs', '--state', 'failed']);
    assert.match(listed.stdout, /oom/);
  });

  test('a fork bomb is held by the pids limit, the worker stays healthy and runs other work, and the bomb dies at its timeout', async (t) => {
    if (noCgroups !== null) {
      t.skip(`no writable cgroups here, and as root RLIMIT_NPROC does not hold a fork bomb: ${noCgroups}`);
      return;
    }
    const client = await cluster.client();
    const bomb = await client.submit({ command: 'b() { b | b & }; b; sleep 60', timeoutSeconds: 3, name: 'fork-bomb' });
    await until('the bomb to run', async () => (await client.status(bomb.jobId)).state === 'running');
    // The kernel refused its forks past the limit: pids.events counts them, pids.current stays at 64.
    const refused = await until('forks to be refused', async () => {
      const events = readPids(`${bomb.jobId}-1`, 'pids.events');
      return events !== null && /^max [1-9]/m.test(events) ? events : undefined;
    });
    assert.match(refused, /^max \d+/m);
    assert.ok(Number(readPids(`${bomb.jobId}-1`, 'pids.current')) <= 64);
    // The worker answers and runs another job while the bomb is at its limit.
    const other = await cluster.cli(['run', '--wait', '--', 'echo', 'still here']);
    assert.equal(other.code, 0, other.stderr);
    assert.match(other.stdout, /still here/);
    const stats = await client.stats();
    assert.equal(stats.workers.find((w) => w.id === 'limited')?.health, 'healthy');
    const ended = await client.wait(bomb.jobId, 30_000);
    assert.equal(ended.state, 'failed');
    assert.match(ended.reason ?? '', /timed out/);
    // Nothing of the bomb is left: every process of its cgroup was killed.
    await until('the bomb processes to be gone', async () => countProcesses('b() { b | b & }') === 0, 10_000);
  });
});

/** A file of the job's pids cgroup, found the way the worker makes it (under this process's own cgroup). */
function readPids(jobPrefix: string, file: string): string | null {
  const mount = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.type === 'cgroup' && m.options.includes('pids'));
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  const roots = mount !== undefined ? [join(mount.point, own.get('pids') ?? '/', 'titan-limited')] : [];
  const v2 = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).find((m) => m.type === 'cgroup2');
  if (v2 !== undefined) roots.push(join(v2.point, own.get('') ?? '/', 'titan-limited'));
  for (const root of roots) {
    try {
      // Job cgroups are named <job>-<attempt>-<n>.
      const dir = readdirSync(root).find((name) => name.startsWith(`${jobPrefix}-`));
      if (dir !== undefined) return readFileSync(join(root, dir, file), 'utf8');
    } catch {
      // the other hierarchy
    }
  }
  return null;
}

function countProcesses(pattern: string): number {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(pattern) && !l.includes('ps -eo')).length;
}
