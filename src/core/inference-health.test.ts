import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_HEALTH,
  admitsTrial,
  advanceHealth,
  initialHealth,
  noteRouted,
  observeResources,
  recordOutcome,
  statusOf,
  type AgentHealth,
  type RequestOutcome,
  type ResourceReading,
} from './inference-health.js';

const GOOD: ResourceReading = { vramTotalMb: 8192, vramFreeMb: 6000, cpuPercent: 20, ramFreeMb: 8000 };
const T0 = 1_000_000;

function outcomes(start: AgentHealth, list: RequestOutcome[], at = T0): AgentHealth {
  return list.reduce((h, o) => recordOutcome(h, o, at, DEFAULT_HEALTH).health, start);
}

describe('agent resource health', () => {
  const table: { name: string; reading: Partial<ResourceReading>; degraded: boolean }[] = [
    { name: 'comfortable resources stay healthy', reading: {}, degraded: false },
    { name: 'VRAM over 90 % used degrades', reading: { vramFreeMb: 800 }, degraded: true },
    { name: 'CPU over 90 % degrades', reading: { cpuPercent: 95 }, degraded: true },
    { name: 'under 512 MB free RAM degrades', reading: { ramFreeMb: 400 }, degraded: true },
    { name: 'a GPU-less agent is not degraded for having 0 VRAM', reading: { vramTotalMb: 0, vramFreeMb: 0 }, degraded: false },
  ];
  for (const row of table) {
    test(row.name, () => {
      const step = observeResources(initialHealth(T0), { ...GOOD, ...row.reading }, T0, DEFAULT_HEALTH);
      assert.equal(step.health.degraded, row.degraded);
      assert.equal(statusOf(step.health), row.degraded ? 'degraded' : 'healthy');
      assert.equal(step.transition?.to, row.degraded ? 'degraded' : undefined);
    });
  }

  test('a degraded agent recovers only under 70 %/70 % and over 2048 MB free (hysteresis)', () => {
    const degraded = observeResources(initialHealth(T0), { ...GOOD, cpuPercent: 95 }, T0, DEFAULT_HEALTH).health;
    const between: ResourceReading[] = [
      { ...GOOD, cpuPercent: 80 },
      { ...GOOD, vramFreeMb: 2000 }, // 75.6 % used
      { ...GOOD, ramFreeMb: 1500 },
    ];
    for (const reading of between) assert.equal(observeResources(degraded, reading, T0 + 1, DEFAULT_HEALTH).health.degraded, true, JSON.stringify(reading));
    const back = observeResources(degraded, GOOD, T0 + 2, DEFAULT_HEALTH);
    assert.equal(back.health.degraded, false);
    assert.deepEqual(back.transition, { from: 'degraded', to: 'healthy', reason: 'resources recovered' });
  });

  test('the transition names what ran short', () => {
    const step = observeResources(initialHealth(T0), { ...GOOD, vramFreeMb: 100, ramFreeMb: 100 }, T0, DEFAULT_HEALTH);
    assert.match(step.transition?.reason ?? '', /VRAM 99 % used > 90 %, free RAM 100 MB < 512 MB/);
  });
});

describe('the circuit breaker', () => {
  test('3 consecutive failures open it: offline, no traffic', () => {
    const two = outcomes(initialHealth(T0), ['failure', 'timeout']);
    assert.equal(statusOf(two), 'healthy');
    const step = recordOutcome(two, 'failure', T0, DEFAULT_HEALTH);
    assert.equal(statusOf(step.health), 'offline');
    assert.equal(step.transition?.from, 'healthy');
    assert.equal(step.transition?.to, 'offline');
    assert.match(step.transition?.reason ?? '', /3 consecutive failures/);
  });

  test('a success in between resets the count', () => {
    assert.equal(statusOf(outcomes(initialHealth(T0), ['failure', 'failure', 'success', 'failure', 'failure'])), 'healthy');
  });

  test('after 30 s open it turns half-open; 2 successes close it', () => {
    const opened = outcomes(initialHealth(T0), ['failure', 'failure', 'failure']);
    assert.equal(advanceHealth(opened, T0 + 29_999, DEFAULT_HEALTH).transition, null);
    const half = advanceHealth(opened, T0 + 30_000, DEFAULT_HEALTH);
    assert.deepEqual([half.transition?.from, half.transition?.to], ['offline', 'half-open']);
    const one = recordOutcome(half.health, 'success', T0 + 30_100, DEFAULT_HEALTH);
    assert.equal(statusOf(one.health), 'half-open');
    const two = recordOutcome(one.health, 'success', T0 + 30_200, DEFAULT_HEALTH);
    assert.deepEqual([two.transition?.from, two.transition?.to], ['half-open', 'healthy']);
    assert.equal(two.health.consecutiveFailures, 0);
  });

  test('a failure while half-open opens it again for another 30 s', () => {
    const half = advanceHealth(outcomes(initialHealth(T0), ['failure', 'failure', 'failure']), T0 + 30_000, DEFAULT_HEALTH).health;
    const step = recordOutcome(half, 'failure', T0 + 31_000, DEFAULT_HEALTH);
    assert.equal(statusOf(step.health), 'offline');
    assert.equal(step.health.until, T0 + 61_000);
  });

  test('a half-open window of 10 s without 2 successes opens it again', () => {
    const half = advanceHealth(outcomes(initialHealth(T0), ['failure', 'failure', 'failure']), T0 + 30_000, DEFAULT_HEALTH).health;
    const one = recordOutcome(half, 'success', T0 + 31_000, DEFAULT_HEALTH).health;
    const step = advanceHealth(one, T0 + 40_000, DEFAULT_HEALTH);
    assert.deepEqual([step.transition?.from, step.transition?.to], ['half-open', 'offline']);
  });

  test('half-open admits a limited number of trial requests', () => {
    let h = advanceHealth(outcomes(initialHealth(T0), ['failure', 'failure', 'failure']), T0 + 30_000, DEFAULT_HEALTH).health;
    for (let i = 0; i < DEFAULT_HEALTH.halfOpenTrials; i += 1) {
      assert.equal(admitsTrial(h, DEFAULT_HEALTH), true);
      h = noteRouted(h);
    }
    assert.equal(admitsTrial(h, DEFAULT_HEALTH), false);
    assert.equal(admitsTrial(initialHealth(T0), DEFAULT_HEALTH), true);
  });

  test('thresholds come from the configuration', () => {
    const config = { ...DEFAULT_HEALTH, failuresToOpen: 1, openMs: 5, successesToClose: 1 };
    const opened = recordOutcome(initialHealth(T0), 'timeout', T0, config).health;
    assert.equal(statusOf(opened), 'offline');
    const half = advanceHealth(opened, T0 + 5, config).health;
    assert.equal(statusOf(recordOutcome(half, 'success', T0 + 6, config).health), 'healthy');
  });

  test('a breaker closed from half-open keeps the agent degraded when its resources still are', () => {
    const degraded = observeResources(initialHealth(T0), { ...GOOD, cpuPercent: 99 }, T0, DEFAULT_HEALTH).health;
    const opened = outcomes(degraded, ['failure', 'failure', 'failure']);
    const half = advanceHealth(opened, T0 + 30_000, DEFAULT_HEALTH).health;
    const closed = outcomes(half, ['success', 'success'], T0 + 30_001);
    assert.equal(statusOf(closed), 'degraded');
  });
});
