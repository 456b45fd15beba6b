import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { TitanError } from '../../common/errors.js';
import { PRE_AUTH_MAX_FRAME } from '../../protocol/body-limits.js';
import { Opcode } from '../../protocol/opcodes.js';
import { Peer } from '../../protocol/peer.js';
import { tcpTransport } from '../../protocol/transport.js';
import type { LeaderView } from './leader-view.js';
import { StandbyTcp } from './standby-tcp.js';

async function standbyNaming(view: () => LeaderView, t: { after: (fn: () => Promise<void>) => void }): Promise<Peer> {
  const standby = new StandbyTcp({ leader: view, maxFrameSize: 1024 * 1024, authTimeoutMs: 5_000 });
  const port = await standby.listen('127.0.0.1', 0);
  const peer = new Peer(tcpTransport(connect({ host: '127.0.0.1', port })));
  t.after(async () => {
    peer.close();
    await standby.close();
  });
  return peer;
}

async function refusal(promise: Promise<unknown>): Promise<TitanError> {
  return promise.then(
    () => assert.fail('the standby served a request'),
    (err: unknown) => err as TitanError,
  );
}

test('AUTH and every other request are answered E_NOT_LEADER, the leader in a field of its own', async (t) => {
  const peer = await standbyNaming(() => ({ tcp: '10.0.0.2:9090', http: null, epoch: 5 }), t);
  const auth = await refusal(peer.request(Opcode.AUTH, { token: 'anything', role: 'client' }));
  assert.deepEqual([auth.code, auth.leader], ['E_NOT_LEADER', '10.0.0.2:9090']);
  assert.match(auth.message, /standby.*the leader is 10\.0\.0\.2:9090 \(epoch 5\)/);
  const submit = await refusal(peer.request(Opcode.JOB_SUBMIT, { run: { command: 'true' } }));
  assert.deepEqual([submit.code, submit.leader], ['E_NOT_LEADER', '10.0.0.2:9090']);
});

test('with no leader known the answer says so, and its leader field is null', async (t) => {
  const peer = await standbyNaming(() => ({ tcp: null, http: null, epoch: 5 }), t);
  const auth = await refusal(peer.request(Opcode.AUTH, { token: 'anything', role: 'worker' }));
  assert.deepEqual([auth.code, auth.leader], ['E_NOT_LEADER', null]);
  assert.match(auth.message, /no leader is known/);
});

test('frames are read as by the real listener before AUTH: a bigger one than the pre-AUTH limit ends the connection', async (t) => {
  const peer = await standbyNaming(() => ({ tcp: '10.0.0.2:9090', http: null, epoch: 1 }), t);
  const big = await refusal(peer.request(Opcode.AUTH, { token: 'x'.repeat(PRE_AUTH_MAX_FRAME + 1), role: 'client' }));
  assert.equal(big.code, 'E_CONNECTION_CLOSED');
  assert.match(big.message, /E_FRAME_TOO_LARGE/);
  assert.equal(peer.isClosed, true);
});
