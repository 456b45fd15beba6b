/**
 * `npm run chaos -- --minutes N --seed S`: a mixed workload on a real cluster while faults hit the
 * master and the workers at random (seeded), then the checks, printed as JSON on stdout:
 * nothing accepted lost, nothing completed twice, no DAG child started before its parents
 * finished, no job process left behind, the service running, the audit ledger intact.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, TOKEN } from '../harness.js';
import { createNetNs, type NetNs } from '../netns.js';
import { FaultInjector } from './faults.js';
import { ChaosProcesses } from './processes.js';
import { Random } from './random.js';
import { Workload } from './workload.js';
import { countEarlyStarts } from './early-starts.js';

const FINAL = new Set(['succeeded', 'failed', 'dead', 'cancelled', 'skipped', 'stopped']);

export interface ChaosReport {
  readonly seed: number;
  readonly minutes: number;
  readonly partition: string;
  readonly slowLink: string;
  readonly faults: Record<string, number>;
  readonly faultsInjected: number;
  readonly jobsAccepted: number;
  readonly lost: number;
  readonly completedTwice: number;
  /**
   * Of those, the ones whose first completion came at most a second before its worker was
   * SIGKILLed: the script's side effect was done, the worker died before it learned of the exit,
   * and nothing outside that process knew (docs/RELIABILITY.md, "What is not covered").
   */
  readonly completedTwiceAtWorkerDeath: number;
  /** Jobs that ended other than succeeded (failed, dead, skipped): a fault may cost one its retries, not most of them. */
  readonly endedNotSucceeded: number;
  readonly childrenStartedBeforeParentFinished: number;
  readonly processesLeftBehind: number;
  readonly servicesNotRunning: number;
  readonly kvLost: number;
  readonly logReaderSawEnd: boolean;
  readonly auditVerify: string;
  readonly notes: string[];
}

export async function runChaos(minutes: number, seed: number): Promise<ChaosReport> {
  const dir = mkdtempSync(join(tmpdir(), 'titan-chaos-'));
  chmodSync(dir, 0o711); // a root worker's jobs (titan-job) pass through to their workspaces and the ledger
  const random = new Random(seed);
  // Job processes are found by their TITAN_WORKER_ID, so the ids are this run's own: another run on the machine is not counted.
  const tag = randomBytes(3).toString('hex');
  const workerIds = [1, 2, 3].map((n) => `chaos-${tag}-w${n}`);
  const netns = createNetNs();
  const islander = typeof netns === 'string' ? null : { id: workerIds[0] ?? `chaos-${tag}-w1`, netns };
  const cluster = new ChaosProcesses(dir, workerIds, islander);
  const workload = new Workload(dir, random, () => ({ host: cluster.masterHost, port: cluster.port }));
  const notes: string[] = [];
  try {
    await cluster.startMaster();
    for (const id of workerIds) cluster.startWorker(id);
    await workload.setUp();
    const reader = followLogs(cluster, workload.accepted.chattyJob ?? 'chaos-chatty');
    const faults = new FaultInjector(cluster, new Random(seed ^ 0x5eed));
    const until = Date.now() + minutes * 60_000;
    const load = (async () => {
      while (Date.now() < until) {
        await workload.step();
        await new Promise((r) => setTimeout(r, random.between(100, 600)));
      }
    })();
    await Promise.all([faults.run(until), load]);
    await cluster.restoreAll();
    const outcome = await settle(workload, notes);
    const atWorkerDeath = await explainDoubles(workload, faults.workerKills, notes);
    const early = await countEarlyStarts(workload, notes);
    const servicesNotRunning = await countServicesDown(workload, notes);
    const audit = await workload.call(async (c) => (await c.security.verifyAudit()) as { ok: boolean; problem?: string });
    reader.stop();
    const left = await leftBehind(cluster, workerIds);
    return {
      seed,
      minutes,
      partition: typeof netns === 'string' ? `skipped: ${netns}` : 'on',
      slowLink: typeof netns === 'string' ? `skipped: ${netns}` : netns.canSlow === true ? 'on' : `skipped: ${netns.canSlow}`,
      faults: faults.counts,
      faultsInjected: faults.total,
      jobsAccepted: outcome.accepted,
      lost: outcome.lost,
      endedNotSucceeded: outcome.notSucceeded,
      completedTwice: countLines(workload.ledger, '.done', (n) => n > 1),
      completedTwiceAtWorkerDeath: atWorkerDeath,
      childrenStartedBeforeParentFinished: early,
      processesLeftBehind: left,
      servicesNotRunning,
      kvLost: outcome.kvLost,
      logReaderSawEnd: reader.sawEnd(),
      auditVerify: audit !== null && typeof audit === 'object' && audit.ok ? 'ok' : `failed: ${JSON.stringify(audit)}`,
      notes,
    };
  } finally {
    workload.close();
    await cluster.closeAll();
    if (typeof netns !== 'string') (netns as NetNs).remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits (bounded) until every accepted job is final; counts what never got there and KV values that changed. */
async function settle(workload: Workload, notes: string[]): Promise<{ accepted: number; lost: number; notSucceeded: number; kvLost: number }> {
  const { accepted } = workload;
  const ids = [...accepted.jobs, ...[...accepted.dagJobs.values()].flat(), ...(accepted.chattyJob !== null ? [accepted.chattyJob] : [])];
  const pending = new Set(ids);
  let notSucceeded = 0;
  const deadline = Date.now() + 180_000;
  while (pending.size > 0 && Date.now() < deadline) {
    for (const id of [...pending]) {
      const view = await workload.call((c) => c.status(id));
      if (view !== null && typeof view === 'object' && FINAL.has(view.state)) {
        pending.delete(id);
        if (view.state !== 'succeeded') {
          notSucceeded++;
          notes.push(`${id} ended ${view.state}${view.reason !== null && view.reason !== undefined ? `: ${view.reason}` : ''}`);
        }
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 1_000));
  }
  for (const id of pending) notes.push(`${id} never reached a final state`);
  let kvLost = 0;
  for (const [key, value] of accepted.kv) if ((await workload.call((c) => c.kv.get(key))) !== value) kvLost++;
  return { accepted: ids.length, lost: pending.size, notSucceeded, kvLost };
}

/** How long a worker may take to learn its job exited and journal the result: a SIGKILL inside it loses the result. */
const EXIT_NOTICE_WINDOW_MS = 1_000;
/**
 * How long a SIGKILLed worker's job processes may outlive it before its watchdog kills them
 * (docs/RELIABILITY.md: within 1 s): a script ending in that time completed, and its result died
 * with the worker.
 */
const ORPHAN_WINDOW_MS = 1_000;

/**
 * For each job whose script completed more than once: the attempts its ledger saw start and what
 * the master recorded, so a failed run says why. Returns how many were completed the first time
 * just before their worker was SIGKILLed.
 */
async function explainDoubles(workload: Workload, workerKills: ReadonlyArray<{ workerId: string; at: number }>, notes: string[]): Promise<number> {
  const lines = (file: string): string[] =>
    readFileSync(join(workload.ledger, file), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  const doubles = readdirSync(workload.ledger).filter((f) => f.endsWith('.done') && lines(f).length > 1);
  let atWorkerDeath = 0;
  for (const file of doubles) {
    const id = file.slice(0, -'.done'.length);
    // Each line: done <attempt> <epoch ms> <worker id>
    const [, , at, workerId] = (lines(file)[0] ?? '').split(' ');
    const doneAt = Number(at);
    const kill = workerKills.find((k) => k.workerId === workerId && k.at - doneAt >= -ORPHAN_WINDOW_MS && k.at - doneAt <= EXIT_NOTICE_WINDOW_MS);
    if (kill !== undefined) atWorkerDeath++;
    const history = await workload.call((c) => c.history(id));
    const events =
      history === null || typeof history === 'string'
        ? 'history unknown'
        : history.events.map((e) => `${e.at % 100_000} ${e.from ?? '-'}>${e.to} a${e.attempt} ${e.workerId ?? '-'} ${e.detail ?? ''}`.trim()).join(' | ');
    const why =
      kill === undefined
        ? 'unexplained'
        : kill.at >= doneAt
          ? `its worker ${workerId} was SIGKILLed ${kill.at - doneAt} ms after the script completed`
          : `its worker ${workerId} was SIGKILLed ${doneAt - kill.at} ms before the script completed, which it outlived until the watchdog came`;
    notes.push(`completed twice (${why}): ${id} [${lines(file).join('; ')}]: ${events}`);
  }
  return atWorkerDeath;
}

async function countServicesDown(workload: Workload, notes: string[]): Promise<number> {
  const ids = workload.accepted.services;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const services = (await workload.call((c) => c.services())) ?? [];
    const down = ids.filter((id) => !(Array.isArray(services) && services.some((s) => s.id === id && s.ready)));
    if (down.length > 0 && Date.now() > deadline) {
      for (const id of down) {
        const job = await workload.call((c) => c.status(id));
        const said = job === null || typeof job === 'string' ? 'status unknown' : `${job.state} (attempt ${job.attempt}): ${job.reason ?? 'no reason'}`;
        notes.push(`service ${id} not ready: ${said}`);
      }
    }
    if (down.length === 0 || Date.now() > deadline) return down.length;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

function countLines(dir: string, suffix: string, match: (lines: number) => boolean): number {
  return readdirSync(dir).filter(
    (f) =>
      f.endsWith(suffix) &&
      match(
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .filter((l) => l.length > 0).length,
      ),
  ).length;
}

/** Every titan process gone (SIGKILL), how many processes of the workers' jobs remain after a grace of 2 s. */
async function leftBehind(cluster: ChaosProcesses, workerIds: readonly string[]): Promise<number> {
  await cluster.closeAll();
  const marks = workerIds.map((id) => `TITAN_WORKER_ID=${id}`);
  const count = (): number =>
    readdirSync('/proc').filter((name) => {
      if (!/^\d+$/.test(name)) return false;
      try {
        const vars = readFileSync(`/proc/${name}/environ`, 'latin1').split('\0');
        return marks.some((m) => vars.includes(m));
      } catch {
        return false;
      }
    }).length;
  const deadline = Date.now() + 2_000;
  while (count() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return count();
}

/** `titan logs -f` on the chatty job, started again whenever a master restart ends it, until it prints the job's last line. */
function followLogs(cluster: ChaosProcesses, jobId: string): { stop(): void; sawEnd(): boolean } {
  let seen = false;
  let stopped = false;
  let child: ReturnType<typeof spawn> | null = null;
  const start = (): void => {
    if (stopped || seen) return;
    child = spawn(process.execPath, [MAIN, 'logs', jobId, '-f', '--master', `${cluster.masterHost}:${cluster.port}`], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, TITAN_TOKEN: TOKEN },
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('last-line')) seen = true;
    });
    child.once('exit', () => setTimeout(start, 1_000));
  };
  start();
  return {
    stop: () => {
      stopped = true;
      child?.kill('SIGKILL');
    },
    sawEnd: () => seen,
  };
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`--${name} must be a positive number (got ${process.argv[i + 1] ?? ''}): e.g. npm run chaos -- --minutes 2 --seed 7`);
  return value;
}

if (process.argv[1] !== undefined && existsSync(process.argv[1]) && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  runChaos(flag('minutes', 2), flag('seed', 1)).then(
    (report) => process.stdout.write(`${JSON.stringify(report, null, 2)}\n`),
    (err: unknown) => {
      process.stderr.write(`chaos run failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
