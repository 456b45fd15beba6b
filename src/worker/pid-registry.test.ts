import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PidRegistry, type PidEntry } from './pid-registry.js';

let dir = '';
const children: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'titan-pids-'));
});
after(async () => {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await rm(dir, { recursive: true, force: true });
});

/** A detached process group like the executor starts; `script` runs in sh. */
async function startGroup(script = 'exec sleep 30'): Promise<{ child: ChildProcess; entry: PidEntry; exited: Promise<unknown[]> }> {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  await once(child, 'spawn');
  const pid = child.pid as number;
  // 'close' waits for stdout to close too, so it also covers children that inherited it.
  const exited = once(child, 'close');
  return { child, entry: { pid, pgid: pid, jobId: `job-${pid}`, attempt: 1, startedAt: Date.now() }, exited };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

test('entries are written to the file as they are added and removed', async () => {
  const file = path.join(dir, 'a', 'pids.json');
  const registry = new PidRegistry(file);
  // A recorded startTicks keeps add() from reading /proc: these made-up pids may be live on the host.
  const e1 = { pid: 101, pgid: 101, jobId: 'j1', attempt: 1, startedAt: 1, startTicks: 1 };
  const e2 = { pid: 102, pgid: 102, jobId: 'j2', attempt: 2, startedAt: 2, startTicks: 2 };
  await Promise.all([registry.add(e1), registry.add(e2)]);
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), [e1, e2]);
  void registry.add({ ...e1, pid: 103 });
  await registry.remove(101);
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), [e2, { ...e1, pid: 103 }]);
  assert.deepEqual(registry.entries(), [e2, { ...e1, pid: 103 }]);
  await registry.close();
});

test('the file reads back as exactly the current entries as it shrinks, grows past a page and shrinks again', async (t) => {
  const file = path.join(dir, 'sizes', 'pids.json');
  const registry = new PidRegistry(file);
  t.after(() => registry.close());
  const entry = (pid: number): PidEntry => ({ pid, pgid: pid, jobId: `job-${pid}`, attempt: 1, startedAt: pid, startTicks: pid });
  const onDisk = async (): Promise<unknown> => JSON.parse(await readFile(file, 'utf8'));
  const pids = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

  await Promise.all(pids(1, 3).map((pid) => registry.add(entry(pid))));
  await Promise.all([registry.remove(1), registry.remove(2)]);
  assert.deepEqual(await onDisk(), [entry(3)]);
  await Promise.all(pids(10, 60).map((pid) => registry.add(entry(pid))));
  assert.ok((await readFile(file)).length > 4096, 'the file has outgrown one page');
  assert.deepEqual(await onDisk(), [3, ...pids(10, 60)].map(entry));
  await Promise.all(pids(10, 59).map((pid) => registry.remove(pid)));
  assert.deepEqual(await onDisk(), [entry(3), entry(69)]);
  await registry.remove(3);
  assert.deepEqual(await onDisk(), [entry(69)]);
});

test('a recorded process group that still runs is killed on start and the file cleared', async () => {
  const file = path.join(dir, 'live.json');
  const { child, entry, exited } = await startGroup();
  const registry = new PidRegistry(file);
  await registry.add(entry);
  const killed = await PidRegistry.killOrphans(file);
  assert.deepEqual(
    killed.map((k) => k.pid),
    [entry.pid],
  );
  if (process.platform === 'linux') assert.ok((killed[0]?.startTicks ?? 0) > 0, 'the kernel start time is recorded');
  await within(exited, 5_000, 'orphan exit');
  assert.equal(child.signalCode, 'SIGKILL');
  await assert.rejects(readFile(file), { code: 'ENOENT' });
});

test('a recorded pid now held by a process started at another time is left alone', { skip: process.platform !== 'linux' }, async () => {
  const file = path.join(dir, 'recycled.json');
  const { child, entry } = await startGroup();
  await writeFile(file, JSON.stringify([{ ...entry, startedAt: entry.startedAt - 3_600_000 }]));
  assert.deepEqual(await PidRegistry.killOrphans(file), []);
  assert.equal(child.exitCode, null);
  assert.equal(child.signalCode, null);
  process.kill(-entry.pgid, 'SIGKILL');
});

test('a recorded pid whose kernel start time differs is left alone, whatever the wall clock says', { skip: process.platform !== 'linux' }, async () => {
  const file = path.join(dir, 'recycled-ticks.json');
  const { child, entry } = await startGroup();
  await writeFile(file, JSON.stringify([{ ...entry, startTicks: 1 }]));
  assert.deepEqual(await PidRegistry.killOrphans(file), []);
  assert.equal(child.signalCode, null);
  process.kill(-entry.pgid, 'SIGKILL');
});

test('members of a recorded group whose leader already exited are killed', { skip: process.platform !== 'linux' }, async () => {
  const file = path.join(dir, 'leaderless.json');
  const { child, entry, exited } = await startGroup('sleep 30 & exit 0');
  await once(child, 'exit'); // the leader is gone; its background sleep keeps stdout open
  await writeFile(file, JSON.stringify([entry]));
  const killed = await PidRegistry.killOrphans(file);
  assert.deepEqual(killed, [entry]);
  await within(exited, 5_000, 'group member exit');
});

test('records of processes that are gone, or no file at all, kill nothing', async () => {
  const file = path.join(dir, 'gone.json');
  const { entry, exited } = await startGroup('exit 0');
  await exited;
  await writeFile(file, JSON.stringify([entry]));
  assert.deepEqual(await PidRegistry.killOrphans(file), []);
  assert.deepEqual(await PidRegistry.killOrphans(path.join(dir, 'missing.json')), []);
});

test('a corrupt registry file is discarded without killing anything', async () => {
  const file = path.join(dir, 'corrupt.json');
  await writeFile(file, '{"not": "a list"');
  assert.deepEqual(await PidRegistry.killOrphans(file), []);
  await assert.rejects(readFile(file), { code: 'ENOENT' });
});
