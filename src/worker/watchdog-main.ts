/**
 * The worker's watchdog: a separate, tiny process that outlives its worker by design. The worker
 * holds a pipe to its stdin and writes one JSON line per change (watchdog-protocol.ts). When the
 * pipe reaches EOF (the worker died, SIGKILL included) every process of the worker's attempts is
 * killed and the watchdog exits; when the worker's lease runs out without renewal (it is frozen or
 * cut off from the master) the attempts are killed and the watchdog stays for the worker to resume.
 * Only Node built-ins are imported: it starts fast and stays small.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { JobProcessKiller } from './job-process-killer.js';
import { parseWatchdogLine } from './watchdog-protocol.js';

const workerId = process.argv[2] ?? '';
const workerPid = Number(process.argv[3] ?? process.ppid);
/** How often the worker's run state is read while it holds attempts. */
const WATCH_MS = 50;
const killer = new JobProcessKiller(workerId);
let leaseExpiresAt: number | null = null;
let leaseTimer: NodeJS.Timeout | null = null;

function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

function say(event: string, fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level: 40, time: Date.now(), component: 'watchdog', workerId, event, ...fields })}\n`);
}

function armLease(): void {
  if (leaseTimer !== null) clearTimeout(leaseTimer);
  leaseTimer = null;
  if (leaseExpiresAt === null) return;
  leaseTimer = setTimeout(
    () => {
      leaseTimer = null;
      if (leaseExpiresAt === null) return;
      if (monotonicMs() < leaseExpiresAt) return armLease();
      leaseExpiresAt = null;
      const killed = killer.killAll();
      say('lease-expired', { killed, msg: 'the worker did not renew its lease: its attempts were killed so that none runs twice' });
    },
    Math.max(0, leaseExpiresAt - monotonicMs()),
  );
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (text) => {
  const message = parseWatchdogLine(text);
  if (message === null) return;
  switch (message.type) {
    case 'lease':
      leaseExpiresAt = message.expiresAt;
      armLease();
      break;
    case 'start':
      killer.track(message.key, message.pgid, message.cgroupProcs);
      break;
    case 'end':
      killer.forget(message.key);
      break;
  }
});
// A stopped worker (SIGSTOP) cannot report what its attempts do: they are paused with it, and
// resumed with it, so no result is produced that only a frozen worker knows of.
let paused = false;
setInterval(() => {
  if (killer.tracked() === 0 && !paused) return;
  const stopped = isStopped(workerPid);
  if (stopped && !paused) {
    paused = true;
    say('worker-stopped', { paused: killer.pauseAll('SIGSTOP'), msg: 'the worker is stopped: its attempts are paused with it' });
  } else if (!stopped && paused) {
    paused = false;
    killer.pauseAll('SIGCONT');
  }
}, WATCH_MS).unref();

/** True while the process is stopped (state T or t in /proc/<pid>/stat). */
function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'T' || state === 't';
  } catch {
    return false;
  }
}

lines.on('close', () => {
  const killed = killer.killAll();
  if (killed > 0) say('worker-gone', { killed, msg: 'the worker is gone: killed the processes of its attempts' });
  process.exit(0);
});
// Group signals meant for the worker (a terminal's Ctrl-C) must not take the watchdog first.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('SIGHUP', () => undefined);
