import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, TOKEN, until, type WorkerHandle } from './harness.js';
import { TitanClient } from '../src/sdk/client.js';

describe('jobs on a real cluster', () => {
  const cluster = new Cluster();
  before(async () => {
    await cluster.startMaster();
    await cluster.startWorker('general-1', { slots: 2 });
  });
  after(() => cluster.close());

  test('a failing job makes `titan run --wait` exit 1 and says why', async () => {
    const result = await cluster.cli(['run', '--wait', '--', 'sh', '-c', 'echo failing; exit 7']);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /^failing$/m);
    assert.match(result.stderr, /failed \(exit 7\).*exited with code 7/);
  });

  test('every job gets its ids, attempt and service addresses in its environment', async () => {
    const client = await cluster.client();
    const { jobId } = await client.submit({ command: 'env' });
    assert.equal((await client.wait(jobId)).state, 'succeeded');
    const lines: string[] = [];
    await client.logs(jobId, (batch) => lines.push(...batch.map((l) => l.line)));
    const env = new Map(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(env.get('TITAN_JOB_ID'), jobId);
    assert.equal(env.get('TITAN_ATTEMPT'), '1');
    assert.equal(env.get('TITAN_HOST'), '127.0.0.1');
    assert.equal(env.get('TITAN_PORT'), String(cluster.port));
    assert.ok(env.get('TITAN_TOKEN'));
    assert.match(env.get('TITAN_WORKSPACE') ?? '', new RegExp(`jobs/${jobId}$`));
  });

  test('`titan logs -f` follows a running job until it ends', async () => {
    const client = await cluster.client();
    const { jobId } = await client.submit({ command: "sh -c 'for i in 1 2 3; do echo line $i; sleep 0.1; done'" });
    const result = await cluster.cli(['logs', jobId, '-f']);
    assert.equal(result.code, 0);
    assert.deepEqual(result.stdout.trim().split('\n'), ['line 1', 'line 2', 'line 3']);
  });

  test('followLogs yields the lines of a running job as they come and ends with the job', async () => {
    const client = await cluster.client();
    const { jobId } = await client.submit({ command: "sh -c 'echo one; sleep 0.2; echo two'" });
    const seen: string[] = [];
    for await (const line of client.followLogs(jobId)) seen.push(line.line);
    assert.deepEqual(seen, ['one', 'two']);
    assert.equal((await client.status(jobId)).state, 'succeeded');
  });

  test('new TitanClient() connects on first use; logs() without a callback returns every line; artifacts round-trip', async () => {
    const client = new TitanClient({ host: '127.0.0.1', port: cluster.port, token: TOKEN });
    try {
      const { jobId } = await client.submit({ command: "sh -c 'echo a; echo b'" });
      assert.equal((await client.wait(jobId, { timeout: 30_000 })).state, 'succeeded');
      assert.deepEqual(
        (await client.logs(jobId)).map((l) => l.line),
        ['a', 'b'],
      );
      await client.publishArtifact('e2e/greeting', Buffer.from('hello artifact'));
      assert.equal(Buffer.from(await client.getArtifact('e2e/greeting')).toString(), 'hello artifact');
    } finally {
      client.close();
    }
  });

  test('a cancelled running job is killed and ends cancelled', async () => {
    const client = await cluster.client();
    const { jobId } = await client.submit({ command: 'sleep 30' });
    await until('job to run', async () => (await client.status(jobId)).state === 'running');
    const result = await cluster.cli(['cancel', jobId]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await client.status(jobId)).state, 'cancelled');
  });

  test('`titan jobs --json` and `titan stats --json` describe the cluster', async () => {
    const jobs = await cluster.cli(['jobs', '--json', '--limit', '5']);
    assert.equal(jobs.code, 0);
    const listed = JSON.parse(jobs.stdout) as Array<{ id: string; state: string }>;
    assert.ok(listed.length > 0 && listed.length <= 5);
    const stats = await cluster.cli(['stats', '--json']);
    const parsed = JSON.parse(stats.stdout) as { workers: Array<{ id: string; slots: number }> };
    assert.deepEqual(
      parsed.workers.map((w) => [w.id, w.slots]),
      [['general-1', 2]],
    );
  });

  test('a job for an unknown id is reported with exit code 4', async () => {
    const result = await cluster.cli(['status', 'nope']);
    assert.equal(result.code, 4);
    assert.match(result.stderr, /no job nope/);
  });

  test('a bad token is refused with exit code 5 and a message naming the fix', async () => {
    const result = await cluster.cli(['stats'], { TITAN_TOKEN: 'wrong' });
    assert.equal(result.code, 5);
    assert.match(result.stderr, /bad cluster token/);
  });

  test('a GPU job waits, says why, never lands on a general worker, and runs once a GPU worker joins', async () => {
    const client = await cluster.client();
    const { jobId } = await client.submit({ command: 'echo trained', requirement: ['GPU'] });
    const general = await client.submit({ command: 'echo general' });
    assert.equal((await client.wait(general.jobId)).state, 'succeeded');
    const waiting = await client.status(jobId);
    assert.equal(waiting.state, 'queued');
    assert.match(waiting.reason ?? '', /no live worker has them/);
    await cluster.startWorker('gpu-1', { tags: 'GPU' });
    const done = await client.wait(jobId);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.workerId, 'gpu-1');
  });
});

// The .py behaviour on a real cluster, both ways: forked from the worker's warm interpreter, and
// spawned cold with --no-warm. Each job prints its parent, so the way it ran is checked too.
for (const warm of [true, false]) {
  describe(`.py jobs on a real cluster (${warm ? 'warm' : '--no-warm'})`, () => {
    const cluster = new Cluster();
    const args = warm ? [] : ['--no-warm'];
    let worker: WorkerHandle;
    let workerPid = 0;
    before(async () => {
      await cluster.startMaster();
      worker = await cluster.startWorker('py-worker', { slots: 2, args });
      workerPid = worker.process.pid ?? 0;
    });
    after(() => cluster.close());

    /** Warm: the job's parent is the warm server, itself a child of the worker. Cold: the worker. */
    function assertRanThe(way: boolean, stdout: string): void {
      const ppid = Number(/^parent (\d+)$/m.exec(stdout)?.[1]);
      const grandparent = Number(readFileSync(`/proc/${ppid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (way) assert.equal(grandparent, workerPid, `parent ${ppid} is not a child of the worker ${workerPid}`);
      else assert.equal(ppid, workerPid);
    }

    test("a script's output and exit code come back through `titan run --wait`", async () => {
      const script = join(cluster.dir, 'hello.py');
      writeFileSync(
        script,
        'import os, sys\nprint("hello", sys.argv[1], os.environ["TITAN_ATTEMPT"])\nprint("to stderr", file=sys.stderr)\nprint("parent", os.getppid())\n',
      );
      const result = await cluster.cli(['run', script, 'titan', '--wait']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^hello titan 1$/m);
      assert.match(result.stderr, /to stderr/);
      assert.match(result.stderr, /succeeded \(exit 0\)/);
      assertRanThe(warm, result.stdout);
    });

    test('a failing script makes `titan run --wait` exit 1 and says why', async () => {
      const script = join(cluster.dir, 'fail.py');
      writeFileSync(script, 'import os, sys\nprint("parent", os.getppid())\nsys.exit(7)\n');
      const result = await cluster.cli(['run', script, '--wait']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /failed \(exit 7\)/);
      assertRanThe(warm, result.stdout);
    });

    test('with --project the folder becomes the workspace and the script imports its neighbours', async () => {
      const project = join(cluster.dir, 'proj');
      mkdirSync(join(project, 'scripts'), { recursive: true });
      mkdirSync(join(project, 'lib'));
      writeFileSync(join(project, 'lib', 'greeting.py'), 'WORD = "from the project"\n');
      writeFileSync(join(project, 'data.txt'), 'shipped data\n');
      writeFileSync(
        join(project, 'scripts', 'main.py'),
        'import os, sys\nsys.path.insert(0, "lib")\nfrom greeting import WORD\nprint(WORD, open("data.txt").read().strip())\nprint("parent", os.getppid())\n',
      );
      const result = await cluster.cli(['run', join(project, 'scripts', 'main.py'), '--project', project, '--wait']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^from the project shipped data$/m);
      assertRanThe(warm, result.stdout);
    });

    test('cancelling a running script kills it and it ends cancelled', async () => {
      const client = await cluster.client();
      const script = join(cluster.dir, 'sleepy.py');
      writeFileSync(script, 'import time\nprint("started", flush=True)\ntime.sleep(60)\n');
      const { jobId } = await client.submit({ file: script });
      await until('the script to start', async () => (await client.status(jobId)).state === 'running');
      await client.cancel(jobId);
      assert.equal((await client.wait(jobId, { timeout: 30_000 })).state, 'cancelled');
    });

    // Last: it SIGKILLs the suite's worker.
    test('a script whose worker is SIGKILLed dies with it, with what it started, and the restarted worker serves again', async () => {
      const client = await cluster.client();
      const dir = cluster.sharedFolder('orphaned');
      const script = join(cluster.dir, 'orphan.py');
      writeFileSync(
        script,
        'import os, subprocess, sys, time\nchild = subprocess.Popen(["sleep", "60"])\nwith open(os.path.join(sys.argv[1], "pids-" + os.environ["TITAN_ATTEMPT"]), "w") as f:\n    f.write("%d %d" % (os.getpid(), child.pid))\ntime.sleep(60)\n',
      );
      const { jobId } = await client.submit({ file: script, args: [dir] });
      const file = join(dir, 'pids-1');
      await until('the script to record its pids', async () => existsSync(file) && readFileSync(file, 'utf8').includes(' ')).catch(async (err: unknown) => {
        throw new Error(
          `${String(err)}; the job: ${JSON.stringify(await client.status(jobId))}; its output: ${JSON.stringify(await cluster.cli(['logs', jobId]))}`,
        );
      });
      const pids = readFileSync(file, 'utf8').split(' ').map(Number);
      await cluster.killWorker('py-worker');
      // The worker's watchdog kills its jobs' processes when the worker dies (docs/RELIABILITY.md).
      await until('the script and its child to die with their worker', async () => !pids.some(running));
      await cluster.startWorker('py-worker', { slots: 2, args, workDir: worker.workDir });
      await client.cancel(jobId).catch(() => undefined);
    });
  });
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
