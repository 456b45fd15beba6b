import type { Dag } from '../core/dag.js';
import type { Job, JobState } from '../core/job.js';
import { fencedError, type AsyncStore, type StoreBytes, type TickCommit } from './async-store.js';
import type { PruneBatch } from './pruner.js';
import type { SqliteStore } from './sqlite-store.js';
import type { Release } from './writer-gate.js';
import type { JobFilter, KeyedArtifact, KvEntry, LogLine, ScheduleRecord, StoredLogLine } from './store.js';
import type { JobEvent } from '../core/job.js';
import { setImmediate as turn } from 'node:timers/promises';
import { splitAdmission } from './sealed-admission.js';
import type { JobWrite } from './store.js';

/** Where an embedded store keeps its leader epoch (0 when absent: nobody ever took a lease). */
export const LEADER_EPOCH_META = 'leader_epoch';

/**
 * The SQLite store behind the async contract. Each call is the synchronous, atomic SqliteStore
 * call, its result (or error) handed back as a settled promise: one process owns the file (the
 * data dir lock), and a synchronous check followed by a synchronous write cannot interleave with
 * anything, so the fence check and the write are one step.
 */
export class SqliteAsyncStore implements AsyncStore {
  readonly kind = 'sqlite';
  #epoch: number | null = null;
  /** Chunk writes of an admission already committed: a retry of the same tick (full disk) writes their rows again, not their events. */
  readonly #unsealed = new WeakSet<JobWrite>();

  constructor(readonly sync: SqliteStore) {}

  fence(epoch: number): void {
    this.#epoch = epoch;
  }

  leaderEpoch(): Promise<number> {
    return this.#read(() => this.#currentEpoch());
  }

  /**
   * One transaction, unless the tick admits a large new DAG: then its job rows commit in chunks,
   * a turn of the loop apart, and the DAG row last (sealed-admission.ts), so no commit holds the
   * loop for more than a few milliseconds; a crash in between leaves rows recovery drops.
   */
  async commitTick(tick: TickCommit): Promise<void> {
    const admission = splitAdmission(tick, (dagId) => this.sync.getDag(dagId) !== undefined);
    if (admission === undefined) return this.#write(() => this.sync.writeJobs(tick.writes, tick.dags ?? [], tick.schedules ?? []));
    let at = 0;
    for (const chunk of admission.chunks) {
      const originals = admission.originals.slice(at, at + chunk.length);
      at += chunk.length;
      const again = originals.map((w) => this.#unsealed.has(w));
      await this.#write(() =>
        this.sync.writeJobs(
          chunk.filter((_, i) => !again[i]),
          [],
          [],
          chunk.filter((_, i) => again[i]).map((w) => w.job),
        ),
      );
      for (const w of originals) this.#unsealed.add(w);
      await turn();
    }
    const { seal } = admission;
    await this.#write(() => this.sync.writeJobs(seal.writes, seal.dags ?? [], seal.schedules ?? []));
  }

  dropUnsealedDagJobs(): Promise<number> {
    return this.#write(() => this.sync.dropUnsealedDagJobs());
  }

  appendLogs(lines: readonly LogLine[]): Promise<void> {
    return this.#write(() => this.sync.appendLogs(lines));
  }

  pruneBatch(before: number, maxRows: number): Promise<PruneBatch> {
    return this.#write(() => this.sync.pruneBatch(before, maxRows));
  }

  holdOffCheckpoints(): Promise<Release> {
    return this.sync.holdOffCheckpoints();
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.#write(() => this.sync.setMeta(key, value));
  }

  kvPut(key: string, value: string, ttlMs: number | null, now: number): Promise<void> {
    return this.#write(() => this.sync.kvPut(key, value, ttlMs, now));
  }

  kvDelete(key: string): Promise<boolean> {
    return this.#write(() => this.sync.kvDelete(key));
  }

  kvSadd(key: string, members: readonly string[], ttlMs: number | null, now: number): Promise<number> {
    return this.#write(() => this.sync.kvSadd(key, members, ttlMs, now));
  }

  publishArtifact(key: string, hash: string, size: number, jobId: string | null, now: number): Promise<KeyedArtifact> {
    return this.#write(() => this.sync.publishArtifact(key, hash, size, jobId, now));
  }

  putSchedule(schedule: ScheduleRecord): Promise<void> {
    return this.#write(() => this.sync.putSchedule(schedule));
  }

  deleteSchedule(id: string): Promise<boolean> {
    return this.#write(() => this.sync.deleteSchedule(id));
  }

  loadActiveDags(): Promise<Dag[]> {
    return this.#read(() => this.sync.loadActiveDags());
  }

  getDag(id: string): Promise<Dag | undefined> {
    return this.#read(() => this.sync.getDag(id));
  }

  listDags(limit: number, idPrefix?: string): Promise<Dag[]> {
    return this.#read(() => this.sync.listDags(limit, idPrefix));
  }

  maxDagSeq(): Promise<number> {
    return this.#read(() => this.sync.maxDagSeq());
  }

  jobsOfDag(dagId: string): Promise<Job[]> {
    return this.#read(() => this.sync.jobsOfDag(dagId));
  }

  jobStates(ids: readonly string[]): Promise<Map<string, JobState>> {
    return this.#read(() => this.sync.jobStates(ids));
  }

  loadActiveJobs(): Promise<Job[]> {
    return this.#read(() => this.sync.loadActiveJobs());
  }

  getJob(id: string): Promise<Job | undefined> {
    return this.#read(() => this.sync.getJob(id));
  }

  listJobs(filter: JobFilter): Promise<Job[]> {
    return this.#read(() => this.sync.listJobs(filter));
  }

  countByState(): Promise<Record<JobState, number>> {
    return this.#read(() => this.sync.countByState());
  }

  maxJobSeq(): Promise<number> {
    return this.#read(() => this.sync.maxJobSeq());
  }

  jobEvents(jobId: string): Promise<JobEvent[]> {
    return this.#read(() => this.sync.jobEvents(jobId));
  }

  readLogs(jobId: string, afterSeq: number, limit: number, maxChars?: number): Promise<StoredLogLine[]> {
    return this.#read(() => this.sync.readLogs(jobId, afterSeq, limit, maxChars));
  }

  logBytes(jobId: string): Promise<number> {
    return this.#read(() => this.sync.logBytes(jobId));
  }

  getMeta(key: string): Promise<string | undefined> {
    return this.#read(() => this.sync.getMeta(key));
  }

  kvGet(key: string, now: number): Promise<KvEntry | undefined> {
    return this.#read(() => this.sync.kvGet(key, now));
  }

  kvSmembers(key: string, now: number): Promise<string[]> {
    return this.#read(() => this.sync.kvSmembers(key, now));
  }

  kvKeys(prefix: string, limit: number, now: number): Promise<string[]> {
    return this.#read(() => this.sync.kvKeys(prefix, limit, now));
  }

  getKeyedArtifact(key: string): Promise<KeyedArtifact | undefined> {
    return this.#read(() => this.sync.getKeyedArtifact(key));
  }

  listKeyedArtifacts(prefix: string, limit: number): Promise<KeyedArtifact[]> {
    return this.#read(() => this.sync.listKeyedArtifacts(prefix, limit));
  }

  artifactReachable(hash: string, idPrefix: string): Promise<boolean> {
    return this.#read(() => this.sync.artifactReachable(hash, idPrefix));
  }

  artifactInUse(hash: string): Promise<boolean> {
    return this.#read(() => this.sync.artifactInUse(hash));
  }

  storeBytes(): Promise<StoreBytes> {
    return this.#read(() => this.sync.storeFileBytes());
  }

  getSchedule(id: string): Promise<ScheduleRecord | undefined> {
    return this.#read(() => this.sync.getSchedule(id));
  }

  listSchedules(): Promise<ScheduleRecord[]> {
    return this.#read(() => this.sync.listSchedules());
  }

  close(): Promise<void> {
    return this.#read(() => this.sync.close());
  }

  #currentEpoch(): number {
    return Number(this.sync.getMeta(LEADER_EPOCH_META) ?? '0');
  }

  #write<T>(fn: () => T): Promise<T> {
    return this.#read(() => {
      const current = this.#epoch === null ? null : this.#currentEpoch();
      if (this.#epoch !== null && current !== this.#epoch) throw fencedError(this.#epoch, current ?? 0);
      return fn();
    });
  }

  #read<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }
}
