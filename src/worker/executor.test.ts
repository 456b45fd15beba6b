import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { JobRun } from '../core/job.js';
import { Executor, type JobResult, type StartRequest } from './executor.js';
import { TRUNCATED_MARK, type OutputLine } from './output-lines.js';
import { readProcStat } from './pid-registry.js';

let root = '';
let seq = 0;
const executor = new Executor({ lineBatchSize: 100, lineFlushMs: 20, maxLineChars: 1000, killGraceMs: 10_000, stdioGraceMs: 60_000 });
const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'titan-executor-'));
});
after(async () => {
  await executor.close();
  await rm(root, { recursive: true, force: true });
});

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Resolves once `check` holds, re-checking every 10 ms; fails after `ms`. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Ran {
  readonly result: JobResult;
  readonly batches: OutputLine[][];
  readonly workspace: string;
}

function startJob(run: JobRun, extra: Partial<StartRequest> = {}, onLines?: (lines: OutputLine[]) => void) {
  const batches: OutputLine[][] = [];
  const workspace = extra.workspace ?? path.join(root, `job-${++seq}`);
  const job = executor.start({
    jobId: `j${seq}`,
    attempt: 1,
    run,
    args: [],
    env,
    workspace,
    ...extra,
    onLines: (lines) => {
      batches.push(lines);
      onLines?.(lines);
    },
  });
  return { job, batches, workspace };
}

async function runJob(run: JobRun, extra: Partial<StartRequest> = {}): Promise<Ran> {
  const { job, batches, workspace } = startJob(run, extra);
  const result = await within(job.done, 20_000, 'job');
  return { result, batches, workspace };
}

const sh = (command: string): JobRun => ({ kind: 'command', command });
const lines = (batches: OutputLine[][], stream = 'stdout') =>
  batches
    .flat()
    .filter((l) => l.stream === stream)
    .map((l) => l.line);

test('output lines come back in order, in bounded batches, and the raw output is in stdout.log', async () => {
  const { result, batches, workspace } = await runJob(sh('seq 1 1000'));
  assert.equal(result.exitCode, 0);
  assert.deepEqual(
    lines(batches),
    Array.from({ length: 1000 }, (_, i) => String(i + 1)),
  );
  assert.ok(batches.length >= 10, `${batches.length} batches`);
  assert.ok(batches.every((b) => b.length <= 100));
  const file = await readFile(path.join(workspace, 'stdout.log'), 'utf8');
  assert.equal(file, lines(batches).join('\n') + '\n');
});

test('stderr is kept apart from stdout, and the job runs in its workspace with the given env and args', async () => {
  const { result, batches, workspace } = await runJob(sh('echo "$TITAN_JOB_ID $1" && pwd && echo oops >&2'), {
    env: { ...env, TITAN_JOB_ID: 'job-x' },
    args: ['first arg'],
  });
  assert.equal(result.exitCode, 0);
  assert.deepEqual(lines(batches), ['job-x first arg', workspace]);
  assert.deepEqual(lines(batches, 'stderr'), ['oops']);
  assert.equal(await readFile(path.join(workspace, 'stderr.log'), 'utf8'), 'oops\n');
});

test('the exit code of a failing job is reported', async () => {
  const { result } = await runJob(sh('exit 3'));
  assert.deepEqual({ ...result, durationMs: 0 }, { exitCode: 3, signal: null, durationMs: 0, timedOut: false });
});

test('a job ended by a signal reports the signal and no exit code', async () => {
  const { result } = await runJob(sh('kill -TERM $$'));
  assert.equal(result.exitCode, null);
  assert.equal(result.signal, 'SIGTERM');
});

test('kill() stops the whole process tree, including children the job forked', async () => {
  let reportPid: (line: string) => void = () => undefined;
  const firstLine = new Promise<string>((resolve) => (reportPid = resolve));
  const { job } = startJob(sh('sleep 30 & echo "$!"; sleep 30'), {}, (batch) => reportPid(batch[0]?.line ?? ''));
  const bgPid = Number(await within(firstLine, 10_000, 'background pid'));
  assert.ok(bgPid > 0);
  job.kill();
  job.kill(); // idempotent
  // The background sleep holds stdout open, so done resolving means it is gone too; no SIGKILL
  // fallback acts first: this executor's grace periods are far longer than the deadline.
  const result = await within(job.done, 5_000, 'tree kill');
  assert.equal(result.signal, 'SIGTERM');
  await until(async () => (await readProcStat(bgPid)) === null, 2_000, 'background child gone');
});

test('a job that ignores SIGTERM is killed with SIGKILL after the grace period', async (t) => {
  const quick = new Executor({ killGraceMs: 100 });
  t.after(() => quick.close());
  let ready: () => void = () => undefined;
  const trapped = new Promise<void>((resolve) => (ready = resolve));
  const job = quick.start({
    jobId: 'stubborn',
    attempt: 1,
    run: sh("trap '' TERM; echo trapped; sleep 30"),
    args: [],
    env,
    workspace: path.join(root, 'stubborn'),
    onLines: () => ready(),
  });
  await within(trapped, 5_000, 'trap set');
  job.kill();
  const result = await within(job.done, 5_000, 'escalation');
  assert.equal(result.signal, 'SIGKILL');
});

test('a job over its timeout is stopped and reported as timed out', async () => {
  const { result } = await runJob(sh('sleep 30'), { timeoutMs: 100 });
  assert.equal(result.timedOut, true);
  assert.equal(result.signal, 'SIGTERM');
  // Bounded by the job's own length (30 s), not by how fast this machine is.
  assert.ok(result.durationMs >= 100 && result.durationMs < 30_000, `${result.durationMs} ms`);
});

test('a missing interpreter is reported as an error naming it, not a crash', async () => {
  const workspace = path.join(root, 'nopython');
  await rm(workspace, { recursive: true, force: true });
  const { job } = startJob({ kind: 'script', fileName: 'x.py', artifact: 'a' }, { workspace, env: { PATH: '/nonexistent' } });
  const result = await within(job.done, 5_000, 'job');
  assert.equal(await job.spawned, null);
  assert.equal(result.exitCode, null);
  assert.match(result.error ?? '', /python3 was not found/);
});

test('a missing command or script file is reported as an error, not a crash', async () => {
  const missing = await runJob(sh('/nonexistent/prog --x'));
  assert.match(missing.result.error ?? '', /"\/nonexistent\/prog" was not found/);
  const noScript = await runJob({ kind: 'script', fileName: 'tool', artifact: 'a' });
  assert.match(noScript.result.error ?? '', /script "tool" is not in the job workspace/);
});

test('a script without a known extension is made executable and run by its #! line', async () => {
  const workspace = path.join(root, 'shebang');
  await rm(workspace, { recursive: true, force: true });
  await runJob(sh('true'), { workspace }); // creates the workspace
  await writeFile(path.join(workspace, 'tool'), '#!/bin/sh\necho "tool $1"\n', { mode: 0o644 });
  const { result, batches } = await runJob({ kind: 'script', fileName: 'tool', artifact: 'a' }, { workspace, args: ['ran'] });
  assert.equal(result.exitCode, 0);
  assert.deepEqual(lines(batches), ['tool ran']);
});

test('a TypeScript job runs through tsx from a workspace outside the project', async () => {
  const workspace = path.join(root, 'ts');
  await runJob(sh('true'), { workspace });
  await writeFile(path.join(workspace, 'job.ts'), 'const n: number = 6 * 7;\nconsole.log(`answer ${n} ${process.argv[2]}`);\n');
  const { result, batches } = await runJob({ kind: 'script', fileName: 'job.ts', artifact: 'a' }, { workspace, args: ['ok'] });
  assert.equal(result.error, undefined);
  assert.deepEqual(lines(batches), ['answer 42 ok']);
  assert.equal(result.exitCode, 0);
});

test('long lines are capped, CRLF is trimmed and a final unterminated line is delivered', async () => {
  const program = "process.stdout.write('a\\r\\n' + 'x'.repeat(5000) + '\\nshort\\n' + 'y'.repeat(3000)); process.stdout.write('\\nlast')";
  const { result, batches, workspace } = await runJob({ kind: 'command', command: `node -e "${program}"` });
  assert.equal(result.exitCode, 0);
  assert.deepEqual(lines(batches), ['a', 'x'.repeat(1000) + TRUNCATED_MARK, 'short', 'y'.repeat(1000) + TRUNCATED_MARK, 'last']);
  const raw = await readFile(path.join(workspace, 'stdout.log'), 'utf8');
  assert.equal(raw.length, 3 + 5001 + 6 + 3000 + 5);
});

test('a job stopped before its process started never starts', async () => {
  const { job } = startJob(sh('sleep 30'));
  job.kill();
  const result = await within(job.done, 5_000, 'job');
  assert.equal(await job.spawned, null);
  assert.equal(result.signal, 'SIGTERM');
});

test('a job whose background child outlives it still completes, and the leftover child is killed', async (t) => {
  const brief = new Executor({ stdioGraceMs: 100 });
  t.after(() => brief.close());
  const pids: string[] = [];
  const job = brief.start({
    jobId: 'leaves-child',
    attempt: 1,
    run: sh('sleep 30 & echo "$!"'),
    args: [],
    env,
    workspace: path.join(root, 'leaves-child'),
    onLines: (batch) => pids.push(...batch.map((l) => l.line)),
  });
  const result = await within(job.done, 5_000, 'job');
  assert.equal(result.exitCode, 0);
  const bgPid = Number(pids[0]);
  await until(async () => (await readProcStat(bgPid)) === null, 2_000, 'leftover child gone');
});
