/**
 * The warm interpreter under faults and choices: a job sees what a cold start gives it, a killed or
 * wedged server is replaced without losing a job, preloading works and refuses modules that start
 * threads, and jobs that need another interpreter or startup environment run cold.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WarmPythons } from './warm-pythons.js';
import { alive, BASE_ENV, PyJobKit, until, within } from './py-job-kit.test-util.js';

let root = '';
before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'titan-warm-'));
});
after(() => rm(root, { recursive: true, force: true }));

const PARENT = 'import os\nprint("parent", os.getppid())\n';

/** Everything a script can see of its start, minus what differs between any two processes. */
const PROBE = `import os, sys, signal, json, resource
print(json.dumps({
  "argv": sys.argv[1:], "orig_argv_tail": sys.orig_argv[1:2], "executable": sys.executable, "flags": str(sys.flags),
  "env": {k: v for k, v in os.environ.items()}, "cwd": os.getcwd(), "path": sys.path,
  "modules": sorted(m for m in sys.modules if m not in ("json", "json.decoder", "json.scanner", "json.encoder", "_json", "resource")),
  "main": [k for k in vars(sys.modules["__main__"]) if k not in ("os", "sys", "signal", "json", "resource")],
  "loader": type(__loader__).__name__, "spec": __spec__ is None, "package": __package__,
  "signals": {s: str(signal.getsignal(getattr(signal, s))) for s in ("SIGINT", "SIGTERM", "SIGPIPE", "SIGCHLD", "SIGHUP")},
  "fds": sorted(fd for fd in os.listdir("/proc/self/fd") if int(fd) < 10),  # a pyenv shim (bash) leaks fd 251 into a cold job "umask": os.umask(0o22),
  "uid": [os.getuid(), os.getgid(), os.getgroups()], "stdout": [sys.stdout.encoding, sys.stdout.line_buffering, sys.stdout.write_through],
  "nofile": resource.getrlimit(resource.RLIMIT_NOFILE), "ppid": os.getppid(),
}, sort_keys=True))
`;

describe('a warm job and a cold job see the same start', () => {
  test('argv, environment, sys.path, sys.modules, __main__, signal handlers, open fds, identity and stdio are equal', async () => {
    const cold = await PyJobKit.create(path.join(root, 'cold'), false);
    const warm = await PyJobKit.create(path.join(root, 'warm'), true);
    try {
      const env = { ...BASE_ENV, EXTRA: 'x y' };
      const seen = await Promise.all(
        [cold, warm].map(async (kit) => {
          const { stdout, result } = await kit.run(PROBE, { args: ['a', 'b c'], env });
          assert.equal(result.exitCode, 0);
          const { ppid, ...view } = JSON.parse(stdout[0] ?? '{}') as Record<string, unknown>;
          assert.equal(ppid, kit.warm !== undefined ? kit.warm.serverPid : process.pid);
          // The workspace differs by name only: job-1 in each kit's own root.
          return JSON.parse(JSON.stringify(view).replaceAll(kit.root, '<root>')) as Record<string, unknown>;
        }),
      );
      assert.deepEqual(seen[1], seen[0]);
    } finally {
      await Promise.all([cold.close(), warm.close()]);
    }
  });
});

describe("no job can read another job's secrets from the memory it was forked from", () => {
  /** Which of `needles` occur in the readable memory of process `pid` (read from here, so the needles are not in its memory). */
  function foundInMemory(pid: number, needles: readonly string[]): string[] {
    const found = new Set<string>();
    const fd = openSync(`/proc/${pid}/mem`, 'r');
    try {
      for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
        const [range, perms, , , , name] = line.split(/\s+/);
        if (range === undefined || perms?.[0] !== 'r' || name?.startsWith('[v') === true) continue;
        const [start, end] = range.split('-').map((x) => parseInt(x, 16));
        if (start === undefined || end === undefined || end - start > 1 << 28) continue;
        const chunk = Buffer.alloc(end - start);
        try {
          readSync(fd, chunk, 0, chunk.length, start);
        } catch {
          continue;
        }
        for (const needle of needles) if (chunk.includes(needle)) found.add(needle);
      }
    } finally {
      closeSync(fd);
    }
    return [...found].sort();
  }

  test('a job forked after another one ran with a token in its environment and argv holds no trace of it, though it holds its own', async () => {
    const kit = await PyJobKit.create(path.join(root, 'secrets'), true);
    try {
      const secret = `s3cret-${String(process.hrtime.bigint())}-${Math.random().toString(36).slice(2)}`;
      const first = await kit.run(`${PARENT}import os\nprint(len(os.environ["TITAN_TOKEN"]))\n`, { env: { ...BASE_ENV, TITAN_TOKEN: secret }, args: [secret] });
      assert.deepEqual(first.stdout, [`parent ${kit.warm?.serverPid}`, String(secret.length)]);
      const own = `own-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
      const { job, lines } = await kit.start(`${PARENT}import time\nprint("ready", flush=True)\ntime.sleep(30)\n`, { env: { ...BASE_ENV, MINE: own } });
      await until(() => lines.some((l) => l.line === 'ready'), 20_000, 'the second job to start');
      assert.equal(lines[0]?.line, `parent ${kit.warm?.serverPid}`);
      assert.deepEqual(
        foundInMemory(job.pid ?? 0, [secret, own]),
        [own],
        "the second job's memory holds its own variable and nothing of the first job's token",
      );
      assert.deepEqual(foundInMemory(kit.warm?.serverPid ?? 0, [secret, own]), [], "the warm server never saw either job's environment");
      job.kill('SIGKILL');
      await job.done;
    } finally {
      await kit.close();
    }
  });
});

describe('faults of the warm server', () => {
  test('a SIGKILLed server is replaced; the job started meanwhile runs cold and none is lost', async () => {
    const kit = await PyJobKit.create(path.join(root, 'crash'), true, { warmOptions: { restartDelayMs: 100 } });
    try {
      const first = kit.warm?.serverPid ?? 0;
      process.kill(first, 'SIGKILL');
      const results = await Promise.all(Array.from({ length: 4 }, () => kit.run(`${PARENT}print("ran")\n`)));
      for (const r of results) assert.deepEqual([r.result.exitCode, r.stdout[1]], [0, 'ran']);
      await until(() => (kit.warm?.serverPid ?? first) !== first, 20_000, 'a new warm server');
      const again = await kit.run(PARENT);
      assert.equal(again.stdout[0], `parent ${kit.warm?.serverPid}`);
    } finally {
      await kit.close();
    }
  });

  test('a job running when its server dies is stopped with everything it started and reported with the reason', async () => {
    const kit = await PyJobKit.create(path.join(root, 'lost'), true);
    try {
      const { job, lines } = await kit.start(
        'import subprocess, time\nchild = subprocess.Popen(["sleep", "60"])\nprint("child", child.pid, flush=True)\ntime.sleep(60)\n',
      );
      await until(() => lines.length > 0, 20_000, 'the job to start its child');
      const sleeper = Number(lines[0]?.line.split(' ')[1]);
      process.kill(kit.warm?.serverPid ?? 0, 'SIGKILL');
      const result = await within(job.done, 20_000, 'the orphaned job to be reported');
      assert.match(result.error ?? '', /warm Python server .* died.*exit status is lost/);
      await until(() => !alive(sleeper) && !alive(job.pid ?? 0), 5_000, 'the job and its child to be gone');
    } finally {
      await kit.close();
    }
  });

  test('a wedged server (SIGSTOP) is given up: the job runs cold, the server is replaced', async () => {
    const kit = await PyJobKit.create(path.join(root, 'wedged'), true, { warmOptions: { forkTimeoutMs: 500, restartDelayMs: 100 } });
    try {
      const wedged = kit.warm?.serverPid ?? 0;
      process.kill(wedged, 'SIGSTOP');
      const ran = await kit.run(`${PARENT}print("ran")\n`);
      assert.deepEqual([ran.result.exitCode, ran.stdout], [0, [`parent ${process.pid}`, 'ran']]);
      await until(() => !alive(wedged), 5_000, 'the wedged server to be killed');
      await until(() => (kit.warm?.serverPid ?? wedged) !== wedged, 20_000, 'a new warm server');
      assert.equal((await kit.run(PARENT)).stdout[0], `parent ${kit.warm?.serverPid}`);
    } finally {
      await kit.close();
    }
  });
});

describe('preloading', () => {
  let modules = '';
  before(async () => {
    modules = path.join(root, 'modules');
    await mkdir(modules, { recursive: true });
    await writeFile(path.join(modules, 'titan_heavy.py'), 'import time\nLOADED_BY = __import__("os").getpid()\n');
    await writeFile(
      path.join(modules, 'titan_threaded.py'),
      'import threading, time\nthreading.Thread(target=time.sleep, args=(60,), name="poller", daemon=True).start()\n',
    );
  });

  test('a preloaded module is already imported when the job starts, imported once by the server', async () => {
    const env = { ...BASE_ENV, PYTHONPATH: modules };
    const kit = await PyJobKit.create(path.join(root, 'preload'), true, { warmOptions: { baseEnv: env, preload: ['titan_heavy'] } });
    try {
      const { stdout } = await kit.run(
        'import os, sys\nwas = "titan_heavy" in sys.modules\nimport titan_heavy\nprint(was, titan_heavy.LOADED_BY == os.getppid())\n',
        { env },
      );
      assert.deepEqual(stdout, ['True True']);
    } finally {
      await kit.close();
    }
  });

  test('a module that starts threads when imported is refused, by name, with the fix', async () => {
    const warm = new WarmPythons({ baseEnv: { ...BASE_ENV, PYTHONPATH: modules }, cwd: path.join(root, 'threads'), preload: ['titan_threaded'] });
    await assert.rejects(warm.start(), /--python-preload titan_threaded: importing it started Python threads \(poller\).*leave it out of --python-preload/);
    warm.close();
  });

  test('a module that cannot be imported is refused, by name', async () => {
    const warm = new WarmPythons({ baseEnv: BASE_ENV, cwd: path.join(root, 'missing'), preload: ['titan_no_such_module'] });
    await assert.rejects(warm.start(), /--python-preload titan_no_such_module: importing it failed: ModuleNotFoundError/);
    warm.close();
  });

  test(
    "with numpy preloaded, each job draws its own random numbers (skipped without Debian's python3-numpy)",
    { skip: !existsSync('/usr/lib/python3/dist-packages/numpy') },
    async () => {
      const bin = path.join(root, 'system-python');
      await mkdir(bin, { recursive: true });
      await symlink('/usr/bin/python3', path.join(bin, 'python3')).catch(() => undefined);
      const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: BASE_ENV.HOME ?? '/root' };
      const kit = await PyJobKit.create(path.join(root, 'numpy'), true, { warmOptions: { baseEnv: env, preload: ['numpy'] } });
      try {
        const draws = await Promise.all([1, 2, 3].map(() => kit.run(`${PARENT}import numpy\nprint(numpy.random.rand())\n`, { env })));
        for (const d of draws) assert.equal(d.stdout[0], `parent ${kit.warm?.serverPid}`);
        assert.equal(new Set(draws.map((d) => d.stdout[1])).size, 3, draws.map((d) => d.stdout[1]).join(' '));
      } finally {
        await kit.close();
      }
    },
  );
});

describe('jobs the warm server does not take run cold, as before', () => {
  let kit: PyJobKit;
  before(async () => {
    kit = await PyJobKit.create(path.join(root, 'choices'), true);
  });
  after(() => kit.close());

  test('a job whose startup environment differs (PYTHONPATH, locale, PATH) is spawned', async () => {
    for (const extra of [{ PYTHONPATH: '/opt/x' }, { LC_ALL: 'C' }, { PYTHONHASHSEED: '1' }]) {
      const { stdout } = await kit.run(PARENT, { env: { ...BASE_ENV, ...extra } });
      assert.deepEqual(stdout, [`parent ${process.pid}`], JSON.stringify(extra));
    }
    assert.deepEqual((await kit.run(PARENT, { env: { ...BASE_ENV, UNRELATED: '1' } })).stdout, [`parent ${kit.warm?.serverPid}`]);
  });

  test('a script whose #! line names another interpreter, and a job for the sandbox driver, are spawned', async () => {
    assert.deepEqual((await kit.run(`#!/opt/venv/bin/python\n${PARENT}`)).stdout, [`parent ${process.pid}`]);
    assert.deepEqual((await kit.run(`#!/usr/bin/env python3\n${PARENT}`)).stdout, [`parent ${kit.warm?.serverPid}`]);
    const sandboxed = await kit.run(PARENT, { driver: 'sandbox' });
    assert.match(sandboxed.result.error ?? '', /does not run the sandbox driver/);
  });
});
