/**
 * Finds and SIGKILLs every process of a worker's attempts, wherever it went: the attempt's process
 * group, its cgroups (which nothing leaves), and any process whose environment names the attempt
 * (TITAN_JOB_ID, TITAN_ATTEMPT and TITAN_WORKER_ID are inherited by children, grandchildren and
 * `setsid` daemons alike). Linux /proc; elsewhere only the process groups.
 */
import { readdirSync, readFileSync } from 'node:fs';

interface Tracked {
  pgid?: number;
  cgroupProcs?: readonly string[];
}

/** Rounds of scanning: a process may fork while its parent is being killed. */
const KILL_ROUNDS = 4;

export class JobProcessKiller {
  private readonly attempts = new Map<string, Tracked>();

  constructor(private readonly workerId: string) {}

  track(key: string, pgid: number | undefined, cgroupProcs: readonly string[] | undefined): void {
    const entry = this.attempts.get(key) ?? {};
    if (pgid !== undefined) entry.pgid = pgid;
    if (cgroupProcs !== undefined) entry.cgroupProcs = cgroupProcs;
    this.attempts.set(key, entry);
  }

  forget(key: string): void {
    this.attempts.delete(key);
  }

  tracked(): number {
    return this.attempts.size;
  }

  /** Kills every process of every tracked attempt and forgets them; returns how many were signalled. */
  killAll(): number {
    if (this.attempts.size === 0) return 0;
    let killed = this.signalTracked('SIGKILL');
    for (let round = 0; round < KILL_ROUNDS; round++) {
      const found = this.scanByEnvironment();
      if (found.length === 0) break;
      for (const pid of found) if (signal(pid, 'SIGKILL')) killed++;
      pause(20);
    }
    this.attempts.clear();
    return killed;
  }

  /**
   * SIGSTOP (or SIGCONT) to every process of every tracked attempt: they pause with a frozen
   * worker, so none completes with a result the worker cannot report. Returns how many were signalled.
   */
  pauseAll(signalName: 'SIGSTOP' | 'SIGCONT'): number {
    if (this.attempts.size === 0) return 0;
    let signalled = this.signalTracked(signalName);
    for (const pid of this.scanByEnvironment()) if (signal(pid, signalName)) signalled++;
    return signalled;
  }

  private signalTracked(signalName: NodeJS.Signals): number {
    let signalled = 0;
    for (const entry of this.attempts.values()) {
      if (entry.pgid !== undefined && signal(-entry.pgid, signalName)) signalled++;
      for (const file of entry.cgroupProcs ?? []) for (const pid of readPids(file)) if (signal(pid, signalName)) signalled++;
    }
    return signalled;
  }

  /** Processes whose environment names one of the tracked attempts of this worker. */
  private scanByEnvironment(): number[] {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return [];
    }
    const found: number[] = [];
    const workerMark = `TITAN_WORKER_ID=${this.workerId}`;
    for (const name of names) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
      let environ: string;
      try {
        environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
      } catch {
        continue;
      }
      if (environ.length === 0 || !environ.includes(workerMark)) continue;
      const vars = environ.split('\0');
      if (!vars.includes(workerMark)) continue;
      const jobId = valueOf(vars, 'TITAN_JOB_ID');
      const attempt = valueOf(vars, 'TITAN_ATTEMPT');
      if (jobId !== undefined && attempt !== undefined && this.attempts.has(`${jobId}/${attempt}`)) found.push(pid);
    }
    return found;
  }
}

function valueOf(vars: readonly string[], name: string): string | undefined {
  const prefix = `${name}=`;
  const entry = vars.find((v) => v.startsWith(prefix));
  return entry?.slice(prefix.length);
}

function readPids(procsFile: string): number[] {
  try {
    return readFileSync(procsFile, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 1);
  } catch {
    return [];
  }
}

/** Blocks this (single-purpose) process briefly, so signalled processes can die before the next scan. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}
