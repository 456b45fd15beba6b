import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, killAndWait, until } from './harness.js';
import { probeCgroups } from '../src/worker/confine/cgroup.js';
import { processExists } from '../src/worker/pid-registry.js';

const cgroups = probeCgroups(`janitor-probe-${process.pid}`);
cgroups.host?.close();

/** A job that leaves a child, a grandchild and a grandchild in its own session, and never ends. */
const TREE = `#!/bin/sh
D="$1"
sleep 300 & echo $! > "$D/child-$TITAN_ATTEMPT"
( sleep 300 & echo $! > "$D/grandchild-$TITAN_ATTEMPT"; wait ) &
setsid sh -c 'echo $$ > "$0/escaped-$1"; exec sleep 300' "$D" "$TITAN_ATTEMPT" < /dev/null > /dev/null 2>&1 &
wait
`;

function pidIn(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

async function gone(pids: readonly number[], what: string): Promise<void> {
  await until(`${what} to be gone`, async () => pids.every((p) => !processExists(p)), 10_000);
}

describe('the janitor and timeouts on a real cluster', () => {
  const cluster = new Cluster();
  before(async () => {
    await cluster.startMaster();
    // --pids-limit gives every job a cgroup where the machine allows one.
    await cluster.startWorker('sweeper', { slots: 2, args: ['--pids-limit', '200'] });
  });
  after(() => cluster.close());

  test('a job past its timeout is killed with its children and grandchildren, retried, and its history says why', async () => {
    const dir = cluster.sharedFolder('tree');
    const script = join(cluster.dir, 'tree.sh');
    writeFileSync(script, TREE);
    const client = await cluster.client();
    const { jobId } = await client.submit({ file: script, args: [dir], timeoutSeconds: 2, retries: 1 });
    const ended = await client.wait(jobId, 60_000);
    assert.equal(ended.state, 'dead');
    assert.equal(ended.attempt, 2);
    assert.match(ended.reason ?? '', /timed out after 2 s; its worker killed its process tree/);
    for (const attempt of [1, 2]) {
      const tree = ['child', 'grandchild'].map((name) => pidIn(join(dir, `${name}-${attempt}`)));
      await gone(tree, `attempt ${attempt}'s child and grandchild`);
    }
    const history = await client.history(jobId);
    const details = history.events.map((e) => e.detail ?? '');
    assert.ok(
      details.some((d) => /^attempt 1 failed: timed out after 2 s/.test(d)),
      details.join('\n'),
    );
  });

  test("with cgroups, a grandchild that left the job's session dies at the timeout too", async (t) => {
    if (cgroups.host === null) {
      t.skip(`no writable cgroups here, so a process that left the job's process group cannot be found by the worker: ${cgroups.why}`);
      return;
    }
    const dir = cluster.sharedFolder('escape');
    const script = join(cluster.dir, 'escape.sh');
    writeFileSync(script, TREE);
    const client = await cluster.client();
    const { jobId } = await client.submit({ file: script, args: [dir], timeoutSeconds: 1 });
    await until('the escaped process to start', async () => existsSync(join(dir, 'escaped-1')) && readFileSync(join(dir, 'escaped-1'), 'utf8').trim() !== '');
    const escaped = pidIn(join(dir, 'escaped-1'));
    assert.ok(processExists(escaped));
    assert.equal((await client.wait(jobId, 30_000)).state, 'failed');
    await gone([escaped], 'the escaped grandchild');
  });
});

test('an orphan that left its process group is reaped by its cgroup when its crashed worker restarts', async (t) => {
  if (cgroups.host === null) {
    t.skip(`no writable cgroups here (the pid registry's process-group reaping is tested in e2e-failures): ${cgroups.why}`);
    return;
  }
  const cluster = new Cluster();
  const dir = cluster.sharedFolder('orphans');
  // The restarted worker runs the job again (attempt 2), whose escaped grandchild is in no process
  // group the harness reaps: with the worker gone, the test kills what any attempt recorded.
  t.after(async () => {
    await cluster.killWorker('phoenix-cg');
    killRecorded(dir);
    await cluster.close();
  });
  await cluster.startMaster();
  const first = await cluster.startWorker('phoenix-cg', { slots: 1, args: ['--pids-limit', '100'] });
  const script = join(cluster.dir, 'tree.sh');
  writeFileSync(script, TREE);
  const client = await cluster.client();
  await client.submit({ file: script, args: [dir] });
  await until('the tree to start', async () =>
    ['child-1', 'grandchild-1', 'escaped-1'].every((f) => existsSync(join(dir, f)) && readFileSync(join(dir, f), 'utf8').trim() !== ''),
  );
  const pids = ['child-1', 'grandchild-1', 'escaped-1'].map((f) => pidIn(join(dir, f)));
  // A live watchdog kills the tree as soon as the worker dies (e2e-failures): this is the case
  // where both went at once (the OOM killer, a kill of the whole group), left to the restart.
  const watchdog = watchdogOf(first.process.pid ?? 0);
  assert.ok(watchdog !== undefined, 'the worker runs a watchdog');
  process.kill(watchdog, 'SIGKILL');
  await killAndWait(first.process, 'SIGKILL');
  await until('the watchdog to be gone', async () => !processExists(watchdog));
  assert.ok(pids.every(processExists), 'the tree outlives its SIGKILLed worker and watchdog');
  await cluster.startWorker('phoenix-cg', { slots: 1, workDir: first.workDir, args: ['--pids-limit', '100'] });
  await gone(pids, 'the orphaned tree, the escaped grandchild included');
});

/** The pid of the watchdog a worker started (`watchdog-main.js <worker id> <worker pid>`), found among /proc's command lines. */
function watchdogOf(workerPid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('watchdog-main.js')) && argv.includes(String(workerPid))) return Number(name);
    } catch {
      // the process ended while the list was read
    }
  }
  return undefined;
}

function killRecorded(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = Number(readFileSync(join(dir, name), 'utf8').trim());
    if (pid <= 0 || !processExists(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      // It ended between the look and the kill: the killed worker's watchdog got there first.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}
