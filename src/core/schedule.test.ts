import type { CronTimes } from '../common/cron-times.js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideSchedule, MAX_QUEUED_RUNS, startsQueuedRun, type ScheduleDecision, type ScheduleState } from './schedule.js';

/** A fake cron due every `period` ms (at 0, period, 2·period…), optionally ending at `last`. */
function every(period: number, last = Infinity): CronTimes {
  return {
    nextAfter: (ms) => {
      const next = (Math.floor(ms / period) + 1) * period;
      return next <= last ? next : null;
    },
    latestAtOrBefore: (ms) => (ms < 0 ? null : Math.floor(Math.min(ms, last) / period) * period),
  };
}

const BASE: ScheduleState = { overlap: 'skip', misfire: 'skip', paused: false, lastFiredFor: null, settledThrough: 0, running: false, queued: 0 };
const GRACE = 100;

interface Case {
  readonly name: string;
  readonly state: Partial<ScheduleState>;
  readonly now: number;
  readonly cron?: CronTimes;
  readonly expect: ScheduleDecision;
}

const CASES: readonly Case[] = [
  {
    name: 'before the first due time nothing fires; it sleeps until that time',
    state: {},
    now: 500,
    expect: { fire: false, reason: 'not_due', dueAt: null, nextDue: 1000 },
  },
  {
    name: 'at the due time it fires, and the next due time follows',
    state: {},
    now: 1000,
    expect: { fire: true, reason: 'on_time', dueAt: 1000, nextDue: 2000 },
  },
  {
    name: 'a timer a little late (within grace) still fires on time',
    state: {},
    now: 1080,
    expect: { fire: true, reason: 'on_time', dueAt: 1000, nextDue: 2000 },
  },
  {
    name: 'a due time already fired is never fired again (restart right after a fire)',
    state: { lastFiredFor: 1000 },
    now: 1050,
    expect: { fire: false, reason: 'not_due', dueAt: null, nextDue: 2000 },
  },
  {
    name: 'the cursor is the later of the last fire and the settled mark',
    state: { lastFiredFor: 1000, settledThrough: 3000 },
    now: 3050,
    expect: { fire: false, reason: 'not_due', dueAt: null, nextDue: 4000 },
  },
  {
    name: 'a clock that went backwards below the last fire does not fire',
    state: { lastFiredFor: 5000 },
    now: 2000,
    expect: { fire: false, reason: 'not_due', dueAt: null, nextDue: 6000 },
  },
  {
    name: 'misfire skip: several due times passed during downtime, none fires; it waits for the next future one',
    state: { misfire: 'skip', lastFiredFor: 1000 },
    now: 5500,
    expect: { fire: false, reason: 'misfire_skipped', dueAt: 5000, nextDue: 6000 },
  },
  {
    name: 'misfire skip: one due time passed long ago (beyond grace) is skipped too',
    state: { misfire: 'skip', lastFiredFor: 1000 },
    now: 2500,
    expect: { fire: false, reason: 'misfire_skipped', dueAt: 2000, nextDue: 3000 },
  },
  {
    name: 'misfire run_once: several passed, it fires once for the latest, then the next future one',
    state: { misfire: 'run_once', lastFiredFor: 1000 },
    now: 5500,
    expect: { fire: true, reason: 'misfire_run_once', dueAt: 5000, nextDue: 6000 },
  },
  {
    name: 'misfire run_once: one passed long ago fires once',
    state: { misfire: 'run_once', lastFiredFor: 1000 },
    now: 2500,
    expect: { fire: true, reason: 'misfire_run_once', dueAt: 2000, nextDue: 3000 },
  },
  {
    name: 'misfire run_once on a restart exactly at a due time fires that one',
    state: { misfire: 'run_once', lastFiredFor: 1000 },
    now: 4000,
    expect: { fire: true, reason: 'misfire_run_once', dueAt: 4000, nextDue: 5000 },
  },
  {
    name: 'overlap skip: due while the previous run goes, it is skipped',
    state: { overlap: 'skip', running: true },
    now: 1000,
    expect: { fire: false, reason: 'overlap_skipped', dueAt: 1000, nextDue: 2000 },
  },
  {
    name: 'overlap allow: due while the previous run goes, it fires anyway',
    state: { overlap: 'allow', running: true },
    now: 1000,
    expect: { fire: true, reason: 'on_time', dueAt: 1000, nextDue: 2000 },
  },
  {
    name: 'overlap queue: due while the previous run goes, it is queued',
    state: { overlap: 'queue', running: true, queued: 2 },
    now: 1000,
    expect: { fire: false, reason: 'overlap_queued', dueAt: 1000, nextDue: 2000 },
  },
  {
    name: 'overlap queue: a full queue skips the due time',
    state: { overlap: 'queue', running: true, queued: MAX_QUEUED_RUNS },
    now: 1000,
    expect: { fire: false, reason: 'overlap_skipped', dueAt: 1000, nextDue: 2000 },
  },
  {
    name: 'overlap queue: not running, it fires on time',
    state: { overlap: 'queue' },
    now: 1000,
    expect: { fire: true, reason: 'on_time', dueAt: 1000, nextDue: 2000 },
  },
  {
    name: 'misfire run_once while the previous run goes (skip) settles the missed times without a fire',
    state: { misfire: 'run_once', running: true, lastFiredFor: 1000 },
    now: 5500,
    expect: { fire: false, reason: 'overlap_skipped', dueAt: 5000, nextDue: 6000 },
  },
  {
    name: 'misfire skip wins over a queue: missed times are not queued',
    state: { overlap: 'queue', running: true, lastFiredFor: 1000 },
    now: 5500,
    expect: { fire: false, reason: 'misfire_skipped', dueAt: 5000, nextDue: 6000 },
  },
  {
    name: 'paused: nothing fires and nothing is armed, whatever passed',
    state: { paused: true, misfire: 'run_once', lastFiredFor: 1000 },
    now: 9000,
    expect: { fire: false, reason: 'paused', dueAt: null, nextDue: null },
  },
  {
    name: 'resumed: due times before the resume are settled, the next one is awaited',
    state: { lastFiredFor: 1000, settledThrough: 7300 },
    now: 7300,
    expect: { fire: false, reason: 'not_due', dueAt: null, nextDue: 8000 },
  },
  {
    name: 'an expression with no more due times never fires again',
    state: { lastFiredFor: 3000 },
    now: 9000,
    cron: every(1000, 3000),
    expect: { fire: false, reason: 'no_more_runs', dueAt: null, nextDue: null },
  },
  {
    name: 'the last due time of a finite expression fires, with nothing after it',
    state: { lastFiredFor: 2000 },
    now: 3000,
    cron: every(1000, 3000),
    expect: { fire: true, reason: 'on_time', dueAt: 3000, nextDue: null },
  },
  {
    name: 'a never-fired schedule counts from its creation, not from the epoch',
    state: { settledThrough: 10_500 },
    now: 11_000,
    expect: { fire: true, reason: 'on_time', dueAt: 11_000, nextDue: 12_000 },
  },
];

void describe('schedule decision', () => {
  for (const c of CASES) {
    void test(c.name, () => {
      assert.deepEqual(decideSchedule({ ...BASE, ...c.state }, c.cron ?? every(1000), c.now, GRACE), c.expect);
    });
  }

  void test('a fake clock walking 10 s fires each due time exactly once, and a repeated decision at the same instant does not fire twice', () => {
    const cron = every(1000);
    let state: ScheduleState = { ...BASE, settledThrough: 0 };
    const fired: number[] = [];
    for (let now = 0; now <= 10_000; now += 50) {
      for (let repeat = 0; repeat < 2; repeat++) {
        const d = decideSchedule(state, cron, now, GRACE);
        if (d.fire && d.dueAt !== null) {
          fired.push(d.dueAt);
          state = { ...state, lastFiredFor: d.dueAt };
        }
      }
    }
    assert.deepEqual(fired, [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
  });

  void test('a queued run starts once the previous one is over, unless paused', () => {
    assert.equal(startsQueuedRun({ ...BASE, queued: 1 }), true);
    assert.equal(startsQueuedRun({ ...BASE, queued: 1, running: true }), false);
    assert.equal(startsQueuedRun({ ...BASE, queued: 1, paused: true }), false);
    assert.equal(startsQueuedRun({ ...BASE, queued: 0 }), false);
  });
});
