import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Executor, type StartRequest } from '../executor.js';
import { parseMountinfo, parseProcCgroup, probeCgroups } from './cgroup.js';
import { Confiner } from './confiner.js';
import { processExists } from '../pid-registry.js';

let root = '';
let seq = 0;
const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'titan-confine-'));
});
after(() => rm(root, { recursive: true, force: true }));

function request(command: string, extra: Partial<StartRequest> = {}): StartRequest {
  seq++;
  return { jobId: `c${seq}`, attempt: 1, run: { kind: 'command', command }, args: [], env, workspace: path.join(root, `c${seq}`), ...extra };
}

describe("reading the kernel's cgroup tables", () => {
  test('mountinfo gives each cgroup mount with its controllers; /proc/self/cgroup the paths', () => {
    const mounts = parseMountinfo(
      [
        '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
        '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
        '22 1 0:21 / /proc rw - proc proc rw',
      ].join('\n'),
    );
    assert.deepEqual(
      mounts.map((m) => [m.point, m.type, m.options.includes('memory')]),
      [
        ['/sys/fs/cgroup/memory', 'cgroup', true],
        ['/sys/fs/cgroup/unified', 'cgroup2', false],
      ],
    );
    const paths = parseProcCgroup('8:pids:/\n4:memory:/process_api/x\n2:cpu,cpuacct:/a\n0::/\n');
    assert.equal(paths.get('memory'), '/process_api/x');
    assert.equal(paths.get('cpuacct'), '/a');
    assert.equal(paths.get(''), '/');
  });
});

describe('rlimits (the fallback without cgroups)', () => {
  test('a job with a memory limit and a pids limit runs under RLIMIT_AS and RLIMIT_NPROC', async (t) => {
    const confiner = Confiner.probe({ workerId: `rl-${process.pid}`, limits: 'rlimit', pidsLimit: 50, sandbox: false });
    if (confiner.limitsMechanism !== 'rlimit') {
      t.skip(`prlimit is not available: ${confiner.report.rlimit ?? ''}`);
      return;
    }
    const executor = new Executor({ confiner });
    const req = request('cat /proc/self/limits > limits.txt', { resources: { memoryMb: 256 } });
    const result = await executor.start(req).done;
    assert.equal(result.exitCode, 0, result.error);
    const limits = await readFile(path.join(req.workspace, 'limits.txt'), 'utf8');
    assert.match(limits, /Max address space\s+268435456\s+268435456/);
    assert.match(limits, /Max processes\s+50\s+50/);
    await executor.close();
  });
});

describe('cgroups', () => {
  const probe = probeCgroups(`cg-${process.pid}`);
  probe.host?.close();

  test("a process that left the job's process group (setsid) still dies with the job, by its cgroup", async (t) => {
    if (probe.host === null) {
      t.skip(`no writable cgroups on this machine: ${probe.why}`);
      return;
    }
    const confiner = Confiner.probe({ workerId: `cg-${process.pid}`, limits: 'cgroup', pidsLimit: 100, sandbox: false });
    const executor = new Executor({ confiner, stdioGraceMs: 200 });
    const req = request('setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! > escaped.pid');
    const result = await executor.start(req).done;
    assert.equal(result.exitCode, 0, result.error);
    const pid = Number(await readFile(path.join(req.workspace, 'escaped.pid'), 'utf8'));
    assert.ok(pid > 0);
    const deadline = Date.now() + 5000;
    while (processExists(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(processExists(pid), false, `pid ${pid} outlived its job`);
    await executor.close();
    confiner.close();
  });

  test('CPU is capped by a CFS quota of the cores asked for', async (t) => {
    if (probe.host === null) {
      t.skip(`no writable cgroups on this machine: ${probe.why}`);
      return;
    }
    const confiner = Confiner.probe({ workerId: `cpu-${process.pid}`, limits: 'cgroup', pidsLimit: 0, sandbox: false });
    const executor = new Executor({ confiner });
    // The job reads its own limits back from the cgroup it was put in.
    const v1 = 'p=$(grep -E "^[0-9]+:cpu[,:]" /proc/self/cgroup | head -1 | cut -d: -f3); cat /sys/fs/cgroup/cpu$p/cpu.cfs_quota_us';
    const v2 = 'cat /sys/fs/cgroup$(grep "^0::" /proc/self/cgroup | cut -d: -f3)/cpu.max';
    const req = request(`(${confiner.cgroups?.version === 2 ? v2 : v1}) > quota.txt`, { resources: { cpu: 0.5 } });
    const result = await executor.start(req).done;
    assert.equal(result.exitCode, 0, result.error);
    assert.match(await readFile(path.join(req.workspace, 'quota.txt'), 'utf8'), /^50000\b/);
    await executor.close();
    confiner.close();
  });
});

describe('cgroup v2, on a stand-in tree (this machine may have only v1)', () => {
  test('the worker makes its cgroup under its own, delegates the controllers and writes memory.max, cpu.max and pids.max', async () => {
    const { mkdirSync, writeFileSync, readFileSync } = await import('node:fs');
    const fake = path.join(root, 'fake-cgroup2');
    mkdirSync(path.join(fake, 'system.slice', 'worker.service'), { recursive: true });
    const own = path.join(fake, 'system.slice', 'worker.service');
    writeFileSync(path.join(own, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    writeFileSync(path.join(own, 'cgroup.subtree_control'), '');
    writeFileSync(path.join(root, 'mountinfo'), `41 31 0:38 / ${fake} rw,relatime - cgroup2 cgroup2 rw\n`);
    writeFileSync(path.join(root, 'proc-cgroup'), '0::/system.slice/worker.service\n');
    const probe = probeCgroups('w9', { mountinfo: path.join(root, 'mountinfo'), cgroup: path.join(root, 'proc-cgroup') });
    assert.equal(probe.host?.version, 2, probe.why);
    assert.equal(readFileSync(path.join(own, 'cgroup.subtree_control'), 'utf8'), '+memory +pids +cpu');
    const workerRoot = path.join(own, 'titan-w9');
    assert.equal(readFileSync(path.join(workerRoot, 'cgroup.subtree_control'), 'utf8'), '+memory +pids +cpu');
    const group = probe.host?.create('job-1', { memoryMb: 256, cpu: 0.5, pidsMax: 64 });
    assert.deepEqual(group?.procsFiles, [path.join(workerRoot, 'job-1', 'cgroup.procs')]);
    const read = (file: string): string => readFileSync(path.join(workerRoot, 'job-1', file), 'utf8');
    assert.equal(read('memory.max'), String(256 * 1048576));
    assert.equal(read('cpu.max'), '50000 100000');
    assert.equal(read('pids.max'), '64');
    assert.equal(group?.oomKilled(), false);
    writeFileSync(path.join(workerRoot, 'job-1', 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    assert.equal(group?.oomKilled(), true);
  });

  test('without the memory and pids controllers delegated, v2 is refused with the reason', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const fake = path.join(root, 'bare-cgroup2');
    mkdirSync(fake, { recursive: true });
    writeFileSync(path.join(fake, 'cgroup.controllers'), '');
    writeFileSync(path.join(root, 'mountinfo-bare'), `41 31 0:38 / ${fake} rw,relatime - cgroup2 cgroup2 rw\n`);
    writeFileSync(path.join(root, 'proc-cgroup-bare'), '0::/\n');
    const probe = probeCgroups('w9', { mountinfo: path.join(root, 'mountinfo-bare'), cgroup: path.join(root, 'proc-cgroup-bare') });
    assert.equal(probe.host, null);
    assert.match(probe.why, /the memory and pids controllers are not delegated there \(available: none\)/);
  });
});
