/**
 * What a `.py` job sees and how it ends, specified once and run both ways: forked from the warm
 * interpreter and spawned cold (`--no-warm`). Each test also checks which way the job really ran
 * (its parent is the warm server, or the worker itself), so a silent fallback cannot pass as warm.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Confiner } from '../confine/confiner.js';
import { alive, BASE_ENV, PyJobKit, until, within } from './py-job-kit.test-util.js';

const MODES = [
  { name: 'warm', warm: true },
  { name: 'cold (--no-warm)', warm: false },
] as const;

const PARENT = 'import os\nprint("parent", os.getppid())\n';

for (const mode of MODES) {
  describe(`.py jobs, ${mode.name}`, () => {
    let root = '';
    let kit: PyJobKit;
    before(async () => {
      root = await mkdtemp(path.join(tmpdir(), 'titan-pyjobs-'));
      kit = await PyJobKit.create(root, mode.warm);
    });
    after(async () => {
      await kit.close();
      await rm(root, { recursive: true, force: true });
    });

    /** The pid the job's parent must have: the warm server's, or this process (the worker). */
    const expectedParent = (): number => (mode.warm ? (kit.warm?.serverPid ?? -1) : process.pid);

    test('the job gets its argv, __name__ == "__main__", its folder as cwd and sys.path[0], its environment, and a closed stdin', async () => {
      const source = `${PARENT}import sys, os, json\nprint(json.dumps({"argv": sys.argv[1:], "name": __name__, "file": __file__, "cwd": os.getcwd(), "path0": sys.path[0], "env": os.environ.get("JOB_VAR"), "stdin": sys.stdin.read()}))\n`;
      const { stdout, result } = await kit.run(source, { args: ['one', 'two words', ''], env: { ...BASE_ENV, JOB_VAR: 'mine' } });
      assert.equal(result.exitCode, 0);
      assert.equal(stdout[0], `parent ${expectedParent()}`);
      const seen = JSON.parse(stdout[1] ?? '{}') as Record<string, unknown>;
      const workspace = path.dirname(String(seen.file));
      assert.deepEqual(seen, {
        argv: ['one', 'two words', ''],
        name: '__main__',
        file: path.join(workspace, 'job.py'),
        cwd: workspace,
        path0: workspace,
        env: 'mine',
        stdin: '',
      });
    });

    test('stdout and stderr stay separate streams, each with its lines in order', async () => {
      const source = `${PARENT}import sys\nfor i in range(300):\n    print("out", i)\n    print("err", i, file=sys.stderr)\n`;
      const { stdout, stderr, result } = await kit.run(source);
      assert.equal(result.exitCode, 0);
      assert.equal(stdout[0], `parent ${expectedParent()}`);
      assert.deepEqual(
        stdout.slice(1),
        Array.from({ length: 300 }, (_, i) => `out ${i}`),
      );
      assert.deepEqual(
        stderr,
        Array.from({ length: 300 }, (_, i) => `err ${i}`),
      );
    });

    test('sys.exit codes come back; an uncaught exception exits 1 with a traceback of the script alone', async () => {
      assert.equal((await kit.run('import sys\nsys.exit(7)\n')).result.exitCode, 7);
      const bye = await kit.run('raise SystemExit("bye")\n');
      assert.deepEqual([bye.result.exitCode, bye.stderr], [1, ['bye']]);
      assert.equal((await kit.run('import sys\nsys.exit(None)\n')).result.exitCode, 0);
      const failed = await kit.run(`${PARENT}def f():\n    raise ValueError("boom")\nf()\n`);
      assert.equal(failed.result.exitCode, 1);
      assert.equal(failed.stdout[0], `parent ${expectedParent()}`);
      assert.equal(failed.stderr[0], 'Traceback (most recent call last):');
      assert.match(failed.stderr[1] ?? '', /File ".*job\.py", line 5, in <module>/);
      assert.equal(failed.stderr.at(-1), 'ValueError: boom');
      assert.ok(!failed.stderr.join('\n').includes('fork_server'), failed.stderr.join('\n'));
      const syntax = await kit.run('print(\n');
      assert.equal(syntax.result.exitCode, 1);
      assert.match(syntax.stderr.join('\n'), /SyntaxError/);
    });

    test('on the way out, non-daemon threads are waited for, then atexit handlers run, then output is flushed', async () => {
      const source = `${PARENT}import atexit, sys, threading, time\natexit.register(lambda: print("atexit ran"))\ndef late():\n    time.sleep(0.3)\n    sys.stdout.write("thread done\\n")\nthreading.Thread(target=late).start()\nsys.stdout.write("main done\\n")\n`;
      const { stdout, result } = await kit.run(source);
      assert.equal(result.exitCode, 0);
      assert.deepEqual(stdout, [`parent ${expectedParent()}`, 'main done', 'thread done', 'atexit ran']);
    });

    test('a job killed by a signal is reported with that signal', async () => {
      const { result, stdout } = await kit.run(`${PARENT}import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n`);
      assert.equal(stdout[0], `parent ${expectedParent()}`);
      assert.deepEqual([result.exitCode, result.signal], [null, 'SIGKILL']);
    });

    test('the job leads its own session and process group, and cancelling it kills everything it started', async () => {
      const source = `${PARENT}import os, subprocess, time\nchild = subprocess.Popen(["sleep", "60"])\nprint("ids", os.getpid(), os.getpgid(0), os.getsid(0), child.pid, flush=True)\ntime.sleep(60)\n`;
      const { job, lines } = await kit.start(source);
      await until(() => lines.some((l) => l.line.startsWith('ids ')), 20_000, 'the job to print its ids');
      assert.equal(lines[0]?.line, `parent ${expectedParent()}`);
      const [pid, pgid, sid, sleeper] = (lines.find((l) => l.line.startsWith('ids '))?.line ?? '').split(' ').slice(1).map(Number);
      assert.equal(pid, job.pid);
      assert.deepEqual([pgid, sid], [pid, pid]);
      job.kill();
      const result = await within(job.done, 20_000, 'the cancelled job to end');
      assert.equal(result.signal, 'SIGTERM');
      await until(() => !alive(sleeper ?? 0), 5_000, "the job's own child to be gone");
    });

    test('a timeout stops the job and its children', async () => {
      const source = `${PARENT}import subprocess, time\nchild = subprocess.Popen(["sleep", "60"])\nprint("child", child.pid, flush=True)\ntime.sleep(60)\n`;
      const { result, stdout } = await kit.run(source, { timeoutMs: 1_500 });
      assert.equal(result.timedOut, true);
      assert.equal(stdout[0], `parent ${expectedParent()}`);
      const sleeper = Number(stdout[1]?.split(' ')[1]);
      await until(() => !alive(sleeper), 5_000, "the timed-out job's child to be gone");
    });

    test('nothing leaks from one job to the next: modules, their attributes and globals start fresh', async () => {
      const first = await kit.run('import sys, json, decimal\njson.LEAK = 1\nimport builtins\nbuiltins.LEAK = 2\nprint("decimal" in sys.modules)\n');
      assert.deepEqual(first.stdout, ['True']);
      const second = await kit.run(`${PARENT}import sys, json, builtins\nprint("decimal" in sys.modules, hasattr(json, "LEAK"), hasattr(builtins, "LEAK"))\n`);
      assert.deepEqual(second.stdout, [`parent ${expectedParent()}`, 'False False False']);
    });

    // The cold path's drop to the job user is the spawn's (uid/gid options); this checks the forked child's own.
    test(
      'given a job user, the job runs as it, with no supplementary groups, before its first line',
      { skip: !mode.warm ? 'the spawned path drops the user with the spawn itself' : process.getuid?.() !== 0 ? 'needs a root worker' : false },
      async () => {
        await chmod(root, 0o755);
        const { stdout, result } = await kit.run(`${PARENT}import os\nprint(os.getuid(), os.getgid(), os.getgroups(), os.geteuid())\n`, {
          user: { uid: 65534, gid: 65534 },
        });
        assert.equal(result.exitCode, 0);
        assert.deepEqual(stdout, [`parent ${expectedParent()}`, '65534 65534 [] 65534']);
      },
    );

    test('memory and process limits are in force before the first line (rlimits)', async () => {
      const confiner = Confiner.probe({ workerId: 'pyjobs', limits: 'rlimit', pidsLimit: 64, sandbox: false });
      const limited = await PyJobKit.create(root, mode.warm, { confiner });
      try {
        const { stdout, result } = await limited.run(
          `${PARENT}import resource\nprint(resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_NPROC)[0])\n`,
          { resources: { memoryMb: 900 } },
        );
        assert.equal(result.exitCode, 0);
        assert.equal(stdout[0], `parent ${mode.warm ? limited.warm?.serverPid : process.pid}`);
        assert.equal(stdout[1], `${900 * 1048576} 64`);
      } finally {
        await limited.close();
      }
    });
  });
}
