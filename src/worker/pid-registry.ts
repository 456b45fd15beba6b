/**
 * The worker's record of the process groups it started (`pids.json`), so a worker that crashed
 * and restarts can kill what its previous life left running instead of running a second copy.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../common/log.js';

export interface PidEntry {
  readonly pid: number;
  readonly pgid: number;
  readonly jobId: string;
  readonly attempt: number;
  /** Milliseconds since the epoch, taken right after spawn. */
  readonly startedAt: number;
  /** The kernel's start time of the process in clock ticks since boot (Linux); exact, unlike wall clocks that may be stepped. */
  readonly startTicks?: number | undefined;
}

const PidFile = z.array(
  z.object({
    pid: z.number().int().positive(),
    pgid: z.number().int().positive(),
    jobId: z.string(),
    attempt: z.number().int(),
    startedAt: z.number(),
    startTicks: z.number().optional(),
  }),
);

/** How far a process's start time read from /proc may sit from the recorded startedAt. */
const START_TOLERANCE_MS = 2000;
/** USER_HZ: the unit of /proc/<pid>/stat times; fixed at 100 by the kernel ABI on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;
/**
 * Up to this size the file is rewritten in place by one write at offset 0. A regular-file write
 * within one page is never cut short by a signal, SIGKILL included (the kernel checks for a fatal
 * signal only between pages), so a crash leaves the old or the new content, never a mix.
 */
const IN_PLACE_MAX_BYTES = 4096;

export class PidRegistry {
  readonly #entries = new Map<number, PidEntry>();
  /** The write that will carry the changes made since the last one; null when none is due. */
  #due: { readonly written: Promise<void>; readonly resolve: () => void; readonly reject: (err: unknown) => void } | null = null;
  #dirReady = false;
  /** Open on the file while it is rewritten in place; see #write. */
  #fd: number | undefined;
  /** The file's length: content shorter than this is padded with spaces (JSON allows them). */
  #fileBytes = 0;

  constructor(readonly file: string) {}

  /**
   * Records a started process group; resolves once the record is on disk. Call it in the same
   * turn of the event loop as the spawn: the process cannot have been reaped yet, so its kernel
   * start time can still be read even if it already exited.
   */
  add(entry: PidEntry): Promise<void> {
    const startTicks = process.platform === 'linux' && entry.startTicks === undefined ? readStartTicks(entry.pid) : undefined;
    this.#entries.set(entry.pid, startTicks !== undefined ? { ...entry, startTicks } : entry);
    return this.#persist();
  }

  /** Forgets a process that ended; resolves once the record is on disk. */
  remove(pid: number): Promise<void> {
    if (!this.#entries.delete(pid)) return this.flush();
    return this.#persist();
  }

  entries(): PidEntry[] {
    return [...this.#entries.values()];
  }

  /** Waits until every change made so far is written. */
  flush(): Promise<void> {
    return this.#due?.written ?? Promise.resolve();
  }

  /** Writes what is pending and lets go of the file. Idempotent; later changes reopen it. */
  async close(): Promise<void> {
    await this.flush();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  /**
   * Run once when a worker starts, before it starts anything: kills (SIGKILL, whole group) every
   * recorded job process that still runs and is plausibly the one recorded, then clears the file.
   * On Linux "plausibly" means its start time matches, so a recycled PID is left alone; a group
   * whose leader is gone is killed when members started after the recorded start remain.
   */
  static async killOrphans(file: string, log?: Logger): Promise<PidEntry[]> {
    let entries: PidEntry[];
    try {
      entries = PidFile.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      log?.warn({ file, err }, 'pid registry unreadable; cannot clean up orphans from it, discarding it');
      await rm(file, { force: true });
      return [];
    }
    const killed: PidEntry[] = [];
    const linux = process.platform === 'linux';
    let groups: Map<number, number[]> | undefined; // pgid → member start times, read once if needed
    for (const entry of entries) {
      let ours: boolean;
      if (!linux) {
        ours = processExists(entry.pid);
      } else {
        const leader = await readProcStat(entry.pid);
        if (leader !== null) {
          const sameStart =
            entry.startTicks !== undefined ? leader.startTicks === entry.startTicks : Math.abs(leader.startMs - entry.startedAt) <= START_TOLERANCE_MS;
          ours = leader.pgrp === entry.pgid && sameStart;
          if (!ours) log?.info({ ...entry, found: leader }, 'recorded pid now belongs to another process; leaving it');
        } else {
          // While any member of our group lives, the kernel cannot hand its id to a new process, so
          // leftover members under this pgid that started after the job are the job's descendants.
          groups ??= await processGroups();
          ours = (groups.get(entry.pgid) ?? []).some((start) => start >= entry.startedAt - START_TOLERANCE_MS);
        }
      }
      if (ours && killGroup(entry.pgid, log)) {
        log?.info({ ...entry }, 'killed orphaned job process group');
        killed.push(entry);
      }
    }
    await rm(file, { force: true });
    return killed;
  }

  /**
   * Every change made in one turn of the event loop goes out in one write at its end, so a burst of
   * dispatches costs one. Synchronous: the write must be on disk soon after the spawn, and one
   * small write is cheaper than the round trips of the promise API through the thread pool.
   */
  #persist(): Promise<void> {
    if (this.#due === null) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const written = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.#due = { written, resolve, reject };
      setImmediate(() => this.#write());
    }
    return this.#due.written;
  }

  #write(): void {
    const due = this.#due;
    this.#due = null;
    if (due === null) return;
    try {
      const json = JSON.stringify(this.entries());
      const bytes = Buffer.byteLength(json);
      if (this.#fd !== undefined && Math.max(bytes, this.#fileBytes) <= IN_PLACE_MAX_BYTES) {
        // One write, no open, rename or close: the job's spawn is not slowed down by the record.
        writeSync(this.#fd, bytes < this.#fileBytes ? json.padEnd(json.length + this.#fileBytes - bytes) : json, 0);
        this.#fileBytes = Math.max(bytes, this.#fileBytes);
      } else {
        this.#replace(json, bytes);
      }
      due.resolve();
    } catch (err) {
      due.reject(err);
    }
  }

  /** Writes the whole file anew (atomic by rename) and reopens it for in-place rewrites. */
  #replace(json: string, bytes: number): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    if (!this.#dirReady) {
      mkdirSync(path.dirname(this.file), { recursive: true });
      this.#dirReady = true;
    }
    // Rename is atomic, so a crash mid-write leaves the old file whole. No fsync, here or in
    // place: an OS crash also ends every process this file could name; only a process crash
    // must be survived.
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, json, { mode: 0o600 });
    renameSync(tmp, this.file);
    this.#fileBytes = bytes;
    if (bytes <= IN_PLACE_MAX_BYTES) this.#fd = openSync(this.file, 'r+');
  }
}

/** True while a process with this pid exists (EPERM: it does, just not ours). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pgid: number, log: Logger | undefined): boolean {
  try {
    process.kill(-pgid, 'SIGKILL');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') log?.warn({ pgid, err }, 'could not kill orphaned process group');
    return false;
  }
}

interface ProcStat {
  readonly pgrp: number;
  /** Start time as milliseconds since the epoch. */
  readonly startMs: number;
  readonly startTicks: number;
}

/**
 * The kernel start time (field 22 of /proc/<pid>/stat, in clock ticks since boot) of a process,
 * also of a zombie; undefined once it is reaped. Synchronous: procfs answers from memory, and a
 * trip through the thread pool per job costs more than the read.
 */
export function readStartTicks(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const startTicks = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isFinite(startTicks) ? startTicks : undefined;
}

/** Reads /proc/<pid>/stat; null when the process is gone or is a zombie (nothing left to kill). */
export async function readProcStat(pid: number, uptimeSeconds?: number): Promise<ProcStat | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]); // field 5
  const startTicks = Number(fields[19]); // field 22
  if (state === 'Z' || state === 'X' || !Number.isFinite(pgrp) || !Number.isFinite(startTicks)) return null;
  const uptime = uptimeSeconds ?? (await readUptime());
  return { pgrp, startTicks, startMs: Date.now() - (uptime - startTicks / CLOCK_TICKS_PER_SECOND) * 1000 };
}

async function readUptime(): Promise<number> {
  return Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
}

async function processGroups(): Promise<Map<number, number[]>> {
  const groups = new Map<number, number[]>();
  const uptime = await readUptime();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readProcStat(Number(name), uptime);
    if (stat === null) continue;
    const starts = groups.get(stat.pgrp) ?? [];
    starts.push(stat.startMs);
    groups.set(stat.pgrp, starts);
  }
  return groups;
}
