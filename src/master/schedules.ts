import type { CronTimes } from '../common/cron.js';
import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { compileCron } from '../common/cron.js';
import { ErrorCode, storeFullError, TitanError } from '../common/errors.js';
import type { Effect } from '../core/effects.js';
import { decideSchedule, startsQueuedRun, type ScheduleReason, type ScheduleState } from '../core/schedule.js';
import { DagSubmitRequest } from '../protocol/messages.js';
import type { ScheduleAddRequest, ScheduleView } from '../protocol/schedule-messages.js';
import type { ScheduleRecord } from '../store/store.js';
import { planDagJobs, submitPlanned } from './dag-handlers.js';
import type { ScheduleRecords } from './job-ports.js';
import type { Master } from './master.js';

/** What schedules use of the master: DAG planning and submission, the deadline heap, DAG watchers. */
export type ScheduleHost = Pick<Master, 'commands' | 'reads' | 'artifacts' | 'log' | 'deadlines' | 'watchers' | 'drain' | 'options'>;

/** A due time served at most this late (a busy event loop, a quick restart) still counts as on time. */
const GRACE_MS = 1000;
/** setTimeout overflows past ~24.8 days: a far due time is re-decided at least this often. */
const MAX_SLEEP_MS = 7 * 86_400_000;

type Payload = z.output<typeof DagSubmitRequest>;

interface LiveSchedule {
  record: ScheduleRecord;
  readonly cron: CronTimes;
  readonly payload: Payload;
  /** Due times at or before this were settled without a fire since start (skipped, queued, resumed). */
  settledThrough: number;
  /** Due times waiting for the running DAG to finish (overlap: queue); lost on restart, where misfire decides. */
  readonly queue: number[];
  nextDueAt: number | null;
  unwatch: (() => void) | null;
}

/**
 * The master's cron schedules: one keyed deadline per schedule on the shared heap (`schedule:<id>`),
 * each armed for its next due time. A fire submits a DAG run as DAG_SUBMIT does, and records its due
 * time in the same transaction, so a restart resumes after it and never fires one due time twice.
 */
export class Schedules {
  private readonly live = new Map<string, LiveSchedule>();

  constructor(
    private readonly master: ScheduleHost,
    private readonly records: ScheduleRecords,
  ) {}

  /** Loads every schedule from the store and arms those not paused (misfires are decided at once). */
  async start(): Promise<void> {
    for (const record of await this.records.listSchedules()) {
      try {
        this.load(record);
      } catch (err) {
        this.master.log.error({ scheduleId: record.id, err }, 'schedule could not be loaded; it stays in the store, unarmed');
      }
    }
  }

  /** Resolves once the schedule is on disk (and armed). */
  async add(req: z.output<typeof ScheduleAddRequest>): Promise<ScheduleView> {
    // Checked here rather than in the message schema, so the client SDK does not need croner.
    compileCron(req.cron, req.tz ?? null);
    planDagJobs(this.master, 'schedule-check', req.jobs); // refuses bad jobs now, not at the first fire
    const now = Date.now();
    const record: ScheduleRecord = {
      id: `s${now.toString(36)}${randomBytes(3).toString('hex')}`,
      name: req.name,
      cron: req.cron.trim(),
      tz: req.tz ?? null,
      overlap: req.overlap,
      misfire: req.misfire,
      paused: false,
      payload: JSON.stringify({ name: req.name, jobs: req.jobs }),
      lastDueAt: null,
      lastDagId: null,
      createdAt: now,
      resumedAt: null,
    };
    // Armed only once on disk: a schedule refused for a full disk must not fire.
    await this.write(record);
    return this.view(this.load(record));
  }

  list(): ScheduleView[] {
    return [...this.live.values()].map((s) => this.view(s));
  }

  /** Disarms the schedule at once; resolves once its row is deleted, after any fire of it still being committed. */
  async remove(id: string): Promise<void> {
    const s = this.get(id);
    this.disarm(s);
    this.live.delete(id);
    await this.master.drain();
    await this.records.deleteSchedule(id);
  }

  async pause(id: string): Promise<ScheduleView> {
    const s = this.get(id);
    s.record = { ...s.record, paused: true };
    this.disarm(s);
    await this.write(s.record);
    return this.view(s);
  }

  async resume(id: string): Promise<ScheduleView> {
    const s = this.get(id);
    if (!s.record.paused) return this.view(s);
    const now = Date.now();
    s.record = { ...s.record, paused: false, resumedAt: now };
    const written = this.write(s.record);
    s.settledThrough = Math.max(s.settledThrough, now);
    this.tick(s, now);
    await written;
    return this.view(s);
  }

  /** A schedule row goes to disk in order with the fires already committing (a fire writes its row too). */
  private async write(record: ScheduleRecord): Promise<void> {
    if (!(await this.master.commands.applyAndWait([], [record]))) throw storeFullError(this.master.options.dataDir);
  }

  private get(id: string): LiveSchedule {
    const s = this.live.get(id);
    if (s === undefined) throw new TitanError(ErrorCode.UNKNOWN_JOB, `no schedule ${id}: list them with \`titan schedule ls\``);
    return s;
  }

  private load(record: ScheduleRecord): LiveSchedule {
    const s: LiveSchedule = {
      record,
      cron: compileCron(record.cron, record.tz),
      payload: DagSubmitRequest.parse(JSON.parse(record.payload)),
      settledThrough: Math.max(record.createdAt, record.resumedAt ?? -Infinity),
      queue: [],
      nextDueAt: null,
      unwatch: null,
    };
    this.live.set(record.id, s);
    this.tick(s, Date.now());
    return s;
  }

  private state(s: LiveSchedule): ScheduleState {
    const { overlap, misfire, paused, lastDueAt, lastDagId } = s.record;
    const running = lastDagId !== null && this.master.reads.dag(lastDagId) !== undefined;
    return { overlap, misfire, paused, lastFiredFor: lastDueAt, settledThrough: s.settledThrough, running, queued: s.queue.length };
  }

  /** Starts a queued run if one may start, then decides the due times, then sleeps until the next. */
  private tick(s: LiveSchedule, now: number): void {
    if (this.live.get(s.record.id) !== s) return;
    const queued = s.queue[0];
    if (queued !== undefined && startsQueuedRun(this.state(s))) {
      s.queue.shift();
      this.fire(s, queued, now, 'overlap_queued');
    }
    const decision = decideSchedule(this.state(s), s.cron, now, GRACE_MS);
    const { dueAt } = decision;
    if (dueAt !== null) s.settledThrough = Math.max(s.settledThrough, dueAt);
    if (decision.fire && dueAt !== null) this.fire(s, dueAt, now, decision.reason);
    else if (decision.reason === 'overlap_queued' && dueAt !== null) s.queue.push(dueAt);
    else if (dueAt !== null) this.master.log.info({ scheduleId: s.record.id, dueAt, reason: decision.reason }, 'schedule did not fire');
    if (s.queue.length > 0) this.watchRun(s);
    s.nextDueAt = decision.nextDue;
    const key = `schedule:${s.record.id}`;
    if (decision.nextDue === null) this.master.deadlines.clear(key);
    else this.master.deadlines.set(key, Math.min(decision.nextDue, now + MAX_SLEEP_MS), () => this.tickSafely(s));
  }

  private tickSafely(s: LiveSchedule): void {
    try {
      this.tick(s, Date.now());
    } catch (err) {
      this.master.log.error({ scheduleId: s.record.id, err }, 'schedule tick failed');
    }
  }

  /** Submits one DAG run and records the due time it serves in the same store transaction. */
  private fire(s: LiveSchedule, dueAt: number, now: number, reason: ScheduleReason): void {
    const dagId = `d${now.toString(36)}${randomBytes(3).toString('hex')}`;
    try {
      // Each job learns which schedule and due time it runs for (its "logical date").
      const env = { TITAN_SCHEDULE_ID: s.record.id, TITAN_SCHEDULE_DUE_AT: String(dueAt) };
      const planned = planDagJobs(
        this.master,
        dagId,
        s.payload.jobs.map((j) => ({ ...j, env: { ...j.env, ...env } })),
      );
      const effects: Effect[] = this.master.commands.createDag(dagId, s.payload.name, now);
      submitPlanned(this.master, planned, effects, { name: `schedule:${s.record.id}` });
      const record = { ...s.record, lastDueAt: dueAt, lastDagId: dagId };
      this.master.commands.apply(effects, [record]);
      s.record = record;
      this.master.log.info({ scheduleId: s.record.id, dagId, dueAt, reason }, 'schedule fired');
    } catch (err) {
      this.master.log.error({ scheduleId: s.record.id, dueAt, err }, 'schedule could not start its run; this due time is skipped');
    }
  }

  /** With runs queued, wakes the schedule when its running DAG finishes. */
  private watchRun(s: LiveSchedule): void {
    s.unwatch?.();
    const dagId = s.record.lastDagId;
    s.unwatch =
      dagId === null
        ? null
        : this.master.watchers.onDagFinished(dagId, () => {
            s.unwatch = null;
            // Not from inside the effect loop that finished the DAG: through the deadline heap, at once.
            this.master.deadlines.set(`schedule:${s.record.id}`, Date.now(), () => this.tickSafely(s));
          });
  }

  private disarm(s: LiveSchedule): void {
    this.master.deadlines.clear(`schedule:${s.record.id}`);
    s.unwatch?.();
    s.unwatch = null;
    s.queue.length = 0;
    s.nextDueAt = null;
  }

  private view(s: LiveSchedule): ScheduleView {
    const { id, name, cron, tz, overlap, misfire, paused, createdAt, lastDueAt, lastDagId } = s.record;
    return {
      id,
      name,
      cron,
      tz,
      overlap,
      misfire,
      paused,
      jobs: s.payload.jobs.length,
      createdAt,
      lastDueAt,
      lastDagId,
      nextDueAt: s.nextDueAt,
      queued: s.queue.length,
    };
  }
}
