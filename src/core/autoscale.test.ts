import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decideScaling, forgetPending, INITIAL_SCALING_STATE, type ScalingAction, type ScalingPolicy, type ScalingState, type SpawnHost } from './autoscale.js';
import { Scheduler } from './scheduler.js';
import { spec, worker } from './test-fixtures.js';

const policy: ScalingPolicy = { windowMs: 15_000, idleWindowMs: 60_000, spawnTimeoutMs: 30_000, webhook: false };
const gpuHost: SpawnHost = { id: 'h1', tags: ['GPU'], slots: 2, min: 0, max: 2 };

/** The scheduler and the autoscaler's state under a fake clock, as the master's shell drives them. */
class Rig {
  readonly s = new Scheduler();
  state: ScalingState = INITIAL_SCALING_STATE;
  readonly spawnedBy = new Map<string, string>();
  hosts: SpawnHost[] = [gpuHost];
  nextAt: number | null = null;
  constructor(readonly policy: ScalingPolicy = { windowMs: 15_000, idleWindowMs: 60_000, spawnTimeoutMs: 30_000, webhook: false }) {}

  decide(now: number): ScalingAction[] {
    const d = decideScaling(this.state, { ...this.s.capacity(), spawnedBy: this.spawnedBy, hosts: this.hosts }, this.policy, now);
    this.state = d.state;
    this.nextAt = d.nextAt;
    return [...d.actions];
  }

  gpuJobs(n: number, now: number): void {
    for (let i = 0; i < n; i++) this.s.submit(`g${i}`, spec({ requirement: ['GENERAL', 'GPU'] }), now);
  }

  /** The spawned worker registers, as the host's child process does. */
  arrive(action: ScalingAction | undefined, now: number): string {
    assert.equal(action?.type, 'spawn');
    if (action?.type !== 'spawn') throw new Error('not a spawn');
    this.spawnedBy.set(action.workerId, action.hostId);
    this.s.registerWorker(worker(action.workerId, { tags: ['GENERAL', ...action.tags], slots: action.slots }), now);
    return action.workerId;
  }
}

describe('auto-scaling decisions', () => {
  test('queued GPU work with no free GPU slot asks the spawnable host for one GPU worker only after the window', () => {
    const rig = new Rig();
    rig.s.registerWorker(worker('cpu', { slots: 4 }), 0);
    rig.gpuJobs(3, 0);
    assert.deepEqual(rig.decide(0), []);
    assert.equal(rig.nextAt, 15_000, 'it wakes exactly when the window ends');
    assert.deepEqual(rig.decide(14_999), []);
    const actions = rig.decide(15_000);
    assert.equal(actions.length, 1);
    assert.deepEqual(
      { ...actions[0], workerId: undefined },
      { type: 'spawn', hostId: 'h1', workerId: undefined, tags: ['GPU'], slots: 2, pool: 'GPU', shortfall: 3 },
    );
  });

  test('work that fits in free slots, or a shortfall that ends within the window, asks for nothing', () => {
    const rig = new Rig();
    rig.s.registerWorker(worker('gpu', { tags: ['GENERAL', 'GPU'], slots: 1 }), 0);
    rig.gpuJobs(2, 0);
    assert.deepEqual(rig.decide(0), []);
    rig.s.jobFinished('gpu', 'g0', 1, { exitCode: 0, signal: null, durationMs: 1 }, 10_000);
    rig.s.jobFinished('gpu', 'g1', 1, { exitCode: 0, signal: null, durationMs: 1 }, 12_000);
    assert.deepEqual(rig.decide(12_000), []);
    assert.deepEqual(rig.decide(30_000), [], 'the short spell was forgotten when it ended');
    assert.equal(rig.state.shortSince.size, 0);
  });

  test('a worker already asked for counts as supply, so one burst asks once per window and never past max', () => {
    const rig = new Rig();
    rig.gpuJobs(10, 0);
    rig.decide(0);
    assert.equal(rig.decide(15_000).length, 1);
    assert.deepEqual(rig.decide(16_000), [], 'not again before another window');
    const second = rig.decide(30_000);
    assert.equal(second.length, 1, 'still short after a window: one more');
    assert.deepEqual(rig.decide(44_000), [], 'max 2 reached (both still coming)');
    assert.equal(rig.state.pending.length, 2);
  });

  test('a request that never registers stops counting after the spawn timeout', () => {
    const rig = new Rig();
    rig.hosts = [{ ...gpuHost, max: 1 }];
    rig.gpuJobs(1, 0);
    rig.decide(0);
    assert.equal(rig.decide(15_000).length, 1);
    assert.deepEqual(rig.decide(40_000), []);
    assert.equal(rig.nextAt, 45_000, 'it wakes when the request times out');
    assert.deepEqual(rig.decide(45_000), [], 'the pool is short again from now on');
    assert.equal(rig.decide(60_000).length, 1, 'and after a window the host is asked again');
  });

  test('a host refusing a request frees its place', () => {
    const rig = new Rig();
    rig.hosts = [{ ...gpuHost, max: 1 }];
    rig.gpuJobs(1, 0);
    rig.decide(0);
    const [spawn] = rig.decide(15_000);
    assert.equal(spawn?.type, 'spawn');
    if (spawn?.type === 'spawn') rig.state = forgetPending(rig.state, spawn.workerId);
    assert.equal(rig.state.pending.length, 0);
    assert.equal(rig.decide(30_000).length, 1);
  });

  test('a pool no host may spawn for stays short and is served at once when such a host connects', () => {
    const rig = new Rig();
    rig.hosts = [{ ...gpuHost, tags: ['HIGH_MEM'] }];
    rig.gpuJobs(1, 0);
    rig.decide(0);
    assert.deepEqual(rig.decide(20_000), []);
    rig.hosts = [gpuHost];
    assert.equal(rig.decide(20_001).length, 1);
  });

  test('the least-used host is asked first, ties broken by id', () => {
    const rig = new Rig();
    rig.hosts = [{ ...gpuHost, id: 'h2' }, gpuHost];
    rig.gpuJobs(8, 0);
    rig.decide(0);
    const first = rig.decide(15_000);
    const second = rig.decide(30_000);
    assert.deepEqual([first[0]?.type === 'spawn' && first[0].hostId, second[0]?.type === 'spawn' && second[0].hostId], ['h1', 'h2']);
  });

  test('the spawned worker runs the jobs, and is retired after idling for the idle window', () => {
    const rig = new Rig();
    rig.gpuJobs(2, 0);
    rig.decide(0);
    const id = rig.arrive(rig.decide(15_000)[0], 16_000);
    assert.equal(rig.s.job('g0')?.workerId, id);
    assert.deepEqual(rig.decide(16_000), []);
    assert.equal(rig.state.pending.length, 0, 'registered: no longer pending');
    rig.s.jobFinished(id, 'g0', 1, { exitCode: 0, signal: null, durationMs: 1 }, 20_000);
    assert.deepEqual(rig.decide(20_000), [], 'still busy with g1');
    rig.s.jobFinished(id, 'g1', 1, { exitCode: 0, signal: null, durationMs: 1 }, 21_000);
    assert.deepEqual(rig.decide(21_000), []);
    assert.equal(rig.nextAt, 81_000);
    assert.deepEqual(rig.decide(81_000), [{ type: 'retire', workerId: id, hostId: 'h1', idleMs: 60_000 }]);
    rig.s.drainWorker(id);
    assert.deepEqual(rig.decide(200_000), [], 'a draining worker is not retired twice');
  });

  test('workers the master did not spawn are never retired, and a host keeps its min', () => {
    const rig = new Rig();
    rig.hosts = [{ ...gpuHost, min: 1 }];
    rig.s.registerWorker(worker('static', { tags: ['GENERAL', 'GPU'] }), 0);
    const [warm] = rig.decide(0);
    assert.deepEqual(warm?.type === 'spawn' && [warm.tags, warm.shortfall], [['GPU'], 0], 'topped up to min');
    rig.arrive(warm, 1);
    assert.deepEqual(rig.decide(1_000), []);
    assert.deepEqual(rig.decide(1_000_000), [], 'neither the static worker nor the one at min is retired');
    assert.equal(rig.nextAt, null, 'and nothing is due: no timer is kept');
  });

  test('with a webhook the shortfall is posted instead of asking a host, once per window', () => {
    const rig = new Rig({ ...policy, webhook: true });
    rig.s.registerWorker(worker('gpu', { tags: ['GENERAL', 'GPU'], slots: 1 }), 0);
    rig.gpuJobs(4, 0);
    rig.decide(0);
    assert.deepEqual(rig.decide(15_000), [{ type: 'provision', pool: 'GPU', requirement: ['GENERAL', 'GPU'], shortfall: 3, queued: 3, freeSlots: 0 }]);
    assert.deepEqual(rig.decide(20_000), []);
    assert.equal(rig.decide(30_000).length, 1);
  });

  test('jobs pinned to a worker by affinity do not ask for workers', () => {
    const rig = new Rig();
    rig.s.registerWorker(worker('w', { tags: ['GENERAL', 'GPU'], slots: 1 }), 0);
    rig.s.createDag('d', 'x', 0);
    rig.s.submit('a', spec({ dagId: 'd', requirement: ['GENERAL', 'GPU'] }), 0);
    rig.s.submit('b', spec({ dagId: 'd', requirement: ['GENERAL', 'GPU'], parents: ['a'], affinity: true }), 0);
    rig.s.submit('c', spec({ requirement: ['GENERAL', 'GPU'], priority: 10 }), 0);
    rig.s.jobFinished('w', 'a', 1, { exitCode: 0, signal: null, durationMs: 1 }, 1);
    assert.equal(rig.s.job('c')?.workerId, 'w', 'the higher priority took the slot');
    assert.equal(rig.s.job('b')?.state, 'queued', "b waits for its parent's worker");
    assert.deepEqual(rig.s.capacity().demand, []);
    rig.decide(1);
    assert.deepEqual(rig.decide(100_000), []);
  });
});
