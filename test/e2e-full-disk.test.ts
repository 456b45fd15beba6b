/**
 * Acknowledged means durable, even on a full disk (docs/RELIABILITY.md): the master's data dir and
 * a worker's work dir on small tmpfs mounts that the test fills up, then frees.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, killAndWait, TOKEN, until } from './harness.js';
import { metrics } from './hostile-bodies.js';
import { silentLogger } from '../src/common/silent-log.js';
import { ReportJournal } from '../src/worker/report-journal.js';

/** Mounts a tmpfs of this size at dir; the reason when this machine cannot. */
function mountTmpfs(dir: string, size: string): string | null {
  if (process.platform !== 'linux') return 'tmpfs mounts are Linux only';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  mkdirSync(dir, { recursive: true });
  const out = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (out.error !== undefined) return `mount: ${out.error.message}`;
  return out.status === 0 ? null : `mount -t tmpfs failed: ${out.stderr.trim()}`;
}

function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}

/** Writes a filler file until the file system refuses (bounded); returns its path. */
function fill(dir: string, name = 'filler'): string {
  const filler = join(dir, name);
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(256 * 1024, 1);
  try {
    for (let i = 0; i < 1024; i++) writeSync(fd, chunk);
    throw new Error(`${dir} did not fill up after 256 MB`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return filler;
}

test("with the master's disk full, submissions are refused with E_STORE_FULL, accepted jobs keep their true state, and the master recovers by itself when space returns", async (t) => {
  const cluster = new Cluster(5_000);
  const why = mountTmpfs(cluster.dataDir, '30m');
  t.after(async () => {
    await cluster.close().catch(() => undefined);
    unmount(cluster.dataDir);
    // The close could not remove the folder while the mount was in it.
    rmSync(cluster.dir, { recursive: true, force: true });
  });
  if (why !== null) {
    t.skip(why);
    return;
  }
  await cluster.startMaster();
  await cluster.startWorker('w1', { slots: 4 });
  const client = await cluster.client();
  const markers = cluster.sharedFolder('markers');
  const job = (name: string, seconds: number): string => `sh -c 'touch ${markers}/${name}.started; sleep ${seconds}; echo done >> ${markers}/${name}'`;
  const { jobId: inFlight } = await client.submit({ command: job('in-flight', 3) });
  await until('the in-flight job to start', async () => existsSync(join(markers, 'in-flight.started')));

  const filler = fill(cluster.dataDir);
  // Submissions go on until the store cannot write; each one answered ok must be durable.
  const accepted: string[] = [];
  let refusal: { code: number | null; stdout: string; stderr: string } | undefined;
  for (let i = 0; i < 200 && refusal === undefined; i++) {
    const out = await cluster.cli(['run', '--json', '--', 'sh', '-c', `echo done >> ${markers}/submitted-${i}`]);
    if (out.code === 0) accepted.push((JSON.parse(out.stdout) as { jobId: string }).jobId);
    else refusal = out;
  }
  assert.ok(refusal !== undefined, 'a submission is refused once the disk is full');
  t.diagnostic(`${accepted.length} submissions answered ok (each then checked durable) before the first refusal`);
  assert.equal(refusal.code, 7, `${refusal.stdout}${refusal.stderr}`);
  assert.match(refusal.stdout, /"code":"E_STORE_FULL".*disk is full.*free space there/s);
  // The reserve the store released is taken too, so the disk stays full until the test frees it.
  const topUp = fill(cluster.dataDir, 'top-up');
  const pipeline = join(cluster.dir, 'p.yaml');
  writeFileSync(pipeline, `name: p\njobs:\n  - id: a\n    command: "echo a"\n  - id: b\n    command: "echo b"\n    depends_on: [a]\n`);
  const dag = await cluster.cli(['dag', pipeline, '--json']);
  assert.equal(dag.code, 7, dag.stdout + dag.stderr);
  assert.match(dag.stdout, /E_STORE_FULL/);
  const http = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/jobs`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-token-0123456789', 'content-type': 'application/json' },
    body: JSON.stringify({ run: { kind: 'command', command: 'echo over http' } }),
  });
  assert.equal(http.status, 507, await http.text());

  // The in-flight job finished meanwhile; its worker keeps the result until the master can write it.
  await until('the in-flight job to complete on its worker', async () => existsSync(join(markers, 'in-flight')));
  rmSync(topUp);
  rmSync(filler);
  const after = await until(
    'the master to accept submissions again',
    async () => {
      const out = await cluster.cli(['run', '--json', '--', 'echo', 'after']);
      return out.code === 0 ? (JSON.parse(out.stdout) as { jobId: string }).jobId : undefined;
    },
    30_000,
  );

  for (const id of [inFlight, ...accepted, after]) {
    const done = await client.wait(id);
    assert.equal(done.state, 'succeeded', `${id}: ${done.state} (${done.reason ?? ''})`);
    assert.equal(done.attempt, 1, `${id} ran once`);
  }
  assert.equal(readFileSync(join(markers, 'in-flight'), 'utf8'), 'done\n');
  for (let i = 0; i < accepted.length; i++) assert.equal(readFileSync(join(markers, `submitted-${i}`), 'utf8'), 'done\n');

  // What was acknowledged is on disk: a restarted master knows the same.
  await cluster.killMaster();
  await cluster.startMaster();
  const again = await cluster.client();
  for (const id of [inFlight, ...accepted, after]) assert.equal((await again.status(id)).state, 'succeeded', id);
});

test('a worker whose disk is full fails the job with that reason and keeps serving', async (t) => {
  const cluster = new Cluster();
  const workDir = join(cluster.dir, 'worker-disk');
  const why = mountTmpfs(workDir, '4m');
  t.after(async () => {
    await cluster.close().catch(() => undefined);
    unmount(workDir);
    rmSync(cluster.dir, { recursive: true, force: true });
  });
  if (why !== null) {
    t.skip(why);
    return;
  }
  await cluster.startMaster();
  await cluster.startWorker('cramped', { slots: 2, workDir });
  const script = join(cluster.dir, 'hello.sh');
  writeFileSync(script, `echo hello from a script\n${'# padding\n'.repeat(2000)}`);
  const filler = fill(workDir);

  const failed = await cluster.cli(['run', script, '--wait', '--json']);
  assert.equal(failed.code, 1, failed.stderr);
  const client = await cluster.client();
  const [last] = await client.list({ limit: 1 });
  assert.ok(last !== undefined);
  assert.equal(last.state, 'failed');
  assert.match(last.reason ?? '', /the worker's disk is full .*free space there/);

  rmSync(filler);
  const ok = await cluster.cli(['run', script, '--wait']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /hello from a script/);
});

test('a worker killed while the master could not take its finish report holds the report again when it restarts: the job completes once', async (t) => {
  const cluster = new Cluster(5_000);
  const why = mountTmpfs(cluster.dataDir, '30m');
  t.after(async () => {
    await cluster.close().catch(() => undefined);
    unmount(cluster.dataDir);
    rmSync(cluster.dir, { recursive: true, force: true });
  });
  if (why !== null) {
    t.skip(why);
    return;
  }
  await cluster.startMaster();
  const first = await cluster.startWorker('keeper', { slots: 4 });
  const client = await cluster.client();
  const markers = cluster.sharedFolder('markers');
  const held = (name: string): string =>
    `sh -c 'touch ${markers}/${name}.started; while [ ! -e ${markers}/${name}.go ]; do sleep 0.05; done; echo done >> ${markers}/${name}.done'`;
  const { jobId } = await client.submit({ command: held('kept') });
  await until('the job to start', async () => existsSync(join(markers, 'kept.started')));
  // Work whose transitions write to the store without an audited request: once it is let go, the
  // store (not the audit ledger, which every submission writes first) is what finds the disk full.
  const burst = Array.from({ length: 300 }, (_, i) => ({ key: `b${i}`, parents: ['gate'], run: { kind: 'command' as const, command: 'true' } }));
  await client.submitDag('burst', [{ key: 'gate', run: { kind: 'command', command: held('burst') } }, ...burst]);

  // The disk fills. The burst's transitions find it full: the store spends its reserve on that
  // write and refuses what comes after (/metrics says so). The rest of the reserve is taken too.
  const filler = fill(cluster.dataDir);
  writeFileSync(join(markers, 'burst.go'), '');
  await until('the store to find the disk full', async () => (await metrics(cluster.httpPort, TOKEN)).get('titan_store_full') === 1, 60_000);
  const topUp = fill(cluster.dataDir, 'top-up');

  // The kept job ends now: its finish report is refused, and the worker keeps it in its journal.
  writeFileSync(join(markers, 'kept.go'), '');
  const journal = join(first.workDir, 'reports.jsonl');
  await until('the worker to keep the unacknowledged report', async () => outstandingReports(journal).includes(jobId));
  await killAndWait(first.process, 'SIGKILL');

  await cluster.startWorker('keeper', { slots: 2, workDir: first.workDir });
  rmSync(topUp);
  rmSync(filler);
  const done = await client.wait(jobId, 30_000);
  assert.equal(done.state, 'succeeded', done.reason ?? '');
  assert.equal(done.attempt, 1, 'the attempt that ran is the one recorded, not a second one');
  assert.equal(readFileSync(join(markers, 'kept.done'), 'utf8'), 'done\n', 'the script completed once');
  await until('the acknowledged report to leave the journal', async () => !outstandingReports(journal).includes(jobId));
});

/** The job ids a worker's journal holds unacknowledged, read from a copy (loading rewrites the file it reads). */
function outstandingReports(journal: string): string[] {
  if (!existsSync(journal)) return [];
  const copy = `${journal}.read.jsonl`;
  copyFileSync(journal, copy);
  const reader = new ReportJournal(copy, silentLogger());
  const ids = reader.load().map((report) => report.jobId);
  reader.close();
  rmSync(copy);
  return ids;
}
