/**
 * A job must not get the worker's cluster token (which is an admin) nor the host's secrets. The
 * attack is the one of issue 14: read the worker's environment and command line through /proc,
 * walk every process's, read the token files, read /etc/shadow — with the process driver (plain
 * and under a cgroup) and the sandbox driver. The same probe run as root against the same worker
 * is the control: it finds the token, so a probe that silently finds nothing cannot pass.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MAIN, type WorkerHandle } from './harness.js';
import { probeSandbox } from '../src/worker/confine/sandbox.js';

const isRoot = process.getuid?.() === 0;
const sandbox = probeSandbox();

/** Prints every credential-looking thing it can reach; `$TARGET` is the worker's pid. */
function probe(files: readonly string[]): string {
  return [
    'echo "uid=$(id -u)"',
    'tr "\\0" "\\n" < /proc/$TARGET/environ 2>/dev/null | sed "s/^/target-environ: /"',
    'tr "\\0" " " < /proc/$TARGET/cmdline 2>/dev/null | sed "s/^/target-cmdline: /"; echo',
    'for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do tr "\\0" "\\n" < "$f" 2>/dev/null | grep -i token | sed "s#^#$f: #"; done',
    ...files.map((f) => `cat ${f} 2>/dev/null | sed "s#^#file ${f}: #"`),
    'head -c 300 /etc/shadow 2>/dev/null | sed "s/^/shadow: /"',
    'echo probe-done',
  ].join('\n');
}

describe("a job cannot read its worker's secrets", () => {
  const cluster = new Cluster(30_000, true);
  let worker: WorkerHandle;
  before(async () => {
    if (!isRoot) return;
    await cluster.startMaster();
    const drivers = sandbox.bwrap !== null ? ['--allow-drivers', 'sandbox'] : [];
    // The common way to hand a worker its token, and the one /proc/<pid>/environ shows.
    worker = await cluster.startWorker('env-token', { slots: 2, tokenInEnv: true, args: [...drivers, '--pids-limit', '64'] });
  });
  after(() => cluster.close());

  const secretFiles = (): string[] => [
    join(cluster.dataDir, 'token'),
    join(cluster.dataDir, 'audit.key'),
    join(cluster.dataDir, 'job-token.key'),
    '/root/.bash_history',
  ];

  const attack = async (driverArgs: readonly string[]): Promise<string> => {
    // `titan run -- sh -c …` runs under the job's own /bin/sh -c: the worker is its parent.
    const script = `TARGET=$(awk '/^PPid/ {print $2}' /proc/$PPID/status)\necho "target=$TARGET"\n${probe(secretFiles())}`;
    const out = await cluster.cli(['run', '--wait', ...driverArgs, '--', 'sh', '-c', script]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /probe-done/);
    return out.stdout;
  };

  test('the control: root reading the worker the same way finds the token', (t) => {
    if (!isRoot) return t.skip('needs root: jobs run as another user only when the worker is root');
    const pid = String(worker.process.pid);
    const out = spawnSync('sh', ['-c', probe(secretFiles())], { env: { ...process.env, TARGET: pid }, encoding: 'utf8' });
    assert.ok(out.stdout.includes(cluster.token), 'the probe must find the token when permissions allow it');
  });

  test('a process-driver job runs as titan-job and finds no credential', async (t) => {
    if (!isRoot) return t.skip('needs root: jobs run as another user only when the worker is root');
    const out = await attack([]);
    assert.match(out, new RegExp(`^target=${String(worker.process.pid)}$`, 'm'), 'the probe aimed at the worker');
    const uid = Number(/uid=(\d+)/.exec(out)?.[1]);
    assert.ok(uid > 0, `the job ran as uid ${uid}`);
    assert.ok(!out.includes(cluster.token), `the job found the cluster token:\n${out}`);
    assert.doesNotMatch(out, /^shadow: /m);
    assert.doesNotMatch(out, /^target-environ: /m);
    assert.doesNotMatch(out, /^file /m);
  });

  test('under a cgroup (limits wrap the job) the job still runs as titan-job and finds nothing', async (t) => {
    if (!isRoot) return t.skip('needs root');
    const out = await attack(['--memory', '256M']);
    assert.match(out, new RegExp(`^target=${String(worker.process.pid)}$`, 'm'), 'the probe aimed at the worker');
    assert.ok(Number(/uid=(\d+)/.exec(out)?.[1]) > 0, out);
    assert.ok(!out.includes(cluster.token), `the job found the cluster token:\n${out}`);
    assert.doesNotMatch(out, /^shadow: /m);
  });

  test('a sandboxed job runs as titan-job, sees no host secret and no token', async (t) => {
    if (!isRoot) return t.skip('needs root');
    if (sandbox.bwrap === null) return t.skip(`sandbox driver unavailable here: ${sandbox.why}`);
    const out = await attack(['--driver', 'sandbox']);
    assert.ok(Number(/uid=(\d+)/.exec(out)?.[1]) > 0, out);
    assert.ok(!out.includes(cluster.token), `the job found the cluster token:\n${out}`);
    assert.doesNotMatch(out, /^shadow: /m);
    assert.doesNotMatch(out, /^file /m);
  });

  test('the workspace belongs to the job user; the worker keeps its own files to itself', async (t) => {
    if (!isRoot) return t.skip('needs root');
    const out = await cluster.cli(['run', '--wait', '--', 'sh', '-c', 'echo made > mine.txt && stat -c "%u %a" . mine.txt && ls .. 2>&1 | head -1']);
    assert.equal(out.code, 0, out.stderr);
    const [dirLine, fileLine] = out.stdout.trim().split('\n');
    assert.ok(Number(dirLine?.split(' ')[0]) > 0, out.stdout);
    assert.ok(Number(fileLine?.split(' ')[0]) > 0, out.stdout);
    assert.match(out.stdout, /Permission denied/, 'the job may not list the other workspaces');
    assert.equal(statSync(worker.workDir).mode & 0o777, 0o711);
    assert.equal(statSync(join(worker.workDir, 'artifacts')).mode & 0o777, 0o700);
  });
});

describe('a worker given --token on its command line', () => {
  test('warns that every user can read it there', () => {
    // --job-user 0:0 is refused right after the warning, so nothing else starts.
    const out = spawnSync(
      process.execPath,
      [MAIN, 'worker', '--master', '127.0.0.1:1', '--token', 'x', '--job-user', '0:0', '--work-dir', '/nonexistent/titan'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.match(out.stderr, /--token puts the cluster token on the command line/);
    assert.notEqual(out.status, 0);
  });
});
