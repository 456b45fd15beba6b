import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../common/silent-log.js';
import type { LeadershipEvents } from '../leadership/leadership.js';
import { MasterSeat, type LeaderTerm } from './master-seat.js';

/** A seat whose lease, standby and leader terms are recorded instead of real: the test plays the lease. */
function seatWithLog(options: { leadFails?: boolean; leadStarts?: Promise<void> } = {}) {
  const log: string[] = [];
  let events: LeadershipEvents | null = null;
  const seat = new MasterSeat({
    leadership: (given) => {
      events = given;
      return {
        start: () => log.push('contend'),
        stepDown: (reason) => {
          log.push(`step down: ${reason}`);
          given.onLost(reason);
        },
        stop: async () => {
          log.push('end lease');
        },
      };
    },
    standby: async () => {
      log.push('standby open');
      return { close: async () => void log.push('standby closed') };
    },
    lead: async (epoch): Promise<LeaderTerm> => {
      log.push(`lead ${epoch}`);
      await options.leadStarts;
      if (options.leadFails === true) throw new Error('port in use');
      return {
        stopDispatching: () => log.push(`stop dispatching ${epoch}`),
        close: async () => void log.push(`leader ${epoch} closed`),
      };
    },
    log: silentLogger(),
  });
  const lease = (): LeadershipEvents => {
    if (events === null) throw new Error('no lease yet');
    return events;
  };
  return { seat, log, lease };
}

test('a master serves as a standby until elected, then leads with the epoch it was elected with', async () => {
  const { seat, log, lease } = seatWithLog();
  await seat.start();
  assert.deepEqual(log, ['standby open', 'contend']);
  lease().onElected(3);
  assert.deepEqual(seat.role, { kind: 'leader', epoch: 3 });
  await seat.settled();
  assert.deepEqual(log.slice(2), ['standby closed', 'lead 3']);
});

test('losing the lease stops dispatching at once, before the leader closes, and the ports serve as a standby again', async () => {
  const { seat, log, lease } = seatWithLog();
  await seat.start();
  lease().onElected(1);
  await seat.settled();
  log.length = 0;
  lease().onLost('renewal refused');
  assert.deepEqual(log, ['stop dispatching 1'], 'synchronously, in the callback that reported the loss');
  assert.deepEqual(seat.role, { kind: 'standby' });
  await seat.settled();
  assert.deepEqual(log.slice(-2), ['leader 1 closed', 'standby open']);
});

test('a loss reported while the leader is still starting closes that leader as soon as it is up', async () => {
  let started!: () => void;
  const { seat, log, lease } = seatWithLog({ leadStarts: new Promise((resolve) => (started = resolve)) });
  await seat.start();
  lease().onElected(5);
  await new Promise((resolve) => setImmediate(resolve));
  lease().onLost('lease connection lost');
  started();
  await seat.settled();
  assert.deepEqual(log.slice(2), ['standby closed', 'lead 5', 'stop dispatching 5', 'leader 5 closed', 'standby open']);
  assert.deepEqual(seat.role, { kind: 'standby' });
});

test('a master that cannot serve as leader steps down and serves as a standby', async () => {
  const { seat, log, lease } = seatWithLog({ leadFails: true });
  await seat.start();
  lease().onElected(2);
  await seat.settled();
  assert.deepEqual(log.slice(2), ['standby closed', 'lead 2', 'step down: could not serve as leader: port in use', 'standby open']);
  assert.deepEqual(seat.role, { kind: 'standby' });
});

test('elected, lost and elected again: each epoch gets its own leader, in order', async () => {
  const { seat, log, lease } = seatWithLog();
  await seat.start();
  lease().onElected(1);
  await seat.settled();
  lease().onLost('expired');
  lease().onElected(4);
  await seat.settled();
  assert.deepEqual(log.slice(2), [
    'standby closed',
    'lead 1',
    'stop dispatching 1',
    'stop dispatching 1',
    'leader 1 closed',
    'standby open',
    'standby closed',
    'lead 4',
  ]);
  assert.deepEqual(seat.role, { kind: 'leader', epoch: 4 });
});

test('an election already overtaken by a loss when its turn comes starts no leader', async () => {
  const { seat, log, lease } = seatWithLog();
  await seat.start();
  lease().onElected(1);
  lease().onLost('expired');
  lease().onElected(2);
  await seat.settled();
  assert.deepEqual(log.slice(2), ['standby closed', 'lead 2']);
});

test('stopping ends the lease and closes the leader; later lease events change nothing', async () => {
  const { seat, log, lease } = seatWithLog();
  await seat.start();
  lease().onElected(1);
  await seat.settled();
  log.length = 0;
  await seat.stop();
  assert.deepEqual(log, ['stop dispatching 1', 'end lease', 'leader 1 closed']);
  lease().onElected(2);
  await seat.settled();
  assert.deepEqual(seat.role, { kind: 'stopped' });
  assert.equal(log.length, 3);
});
