import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LegacyOp } from '../../protocol/legacy-frame.js';
import type { Identity } from '../../security/policy.js';
import type { LegacyNameBook } from './names.js';
import { serveLegacyRequest } from './admit.js';

/** A ledger whose `received` row commits only when the test says so, as a PostgreSQL commit would. */
function heldLedger() {
  let commit!: () => void;
  let fail!: (err: Error) => void;
  const row = new Promise<void>((resolve, reject) => {
    commit = resolve;
    fail = reject;
  });
  const rows: string[] = [];
  const security = {
    admit: () => undefined,
    receive: () => void rows.push('received'),
    settled: () => row,
    record: (_who: unknown, _action: unknown, _target: unknown, _source: unknown, result: string) => void rows.push(`outcome ${result}`),
  };
  return { security, rows, commit: () => commit(), fail: (err: Error) => fail(err) };
}

const identity: Identity = { kind: 'token', name: 'legacy', role: 'operator', mayActAsWorker: false };
/** KV_SET touches no v1 name. */
const names = {} as LegacyNameBook;

test('a protocol v1 change runs only once its `received` ledger row has committed', async () => {
  const ledger = heldLedger();
  const puts: string[] = [];
  const master = { security: ledger.security, kv: { kvPut: async (key: string) => void puts.push(key) } };
  const serving = serveLegacyRequest(master as never, names, identity, { opcode: LegacyOp.KV_SET, payload: 'k|v' }, '127.0.0.1');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(ledger.rows, ['received']);
  assert.deepEqual(puts, [], 'nothing written before the row is durable');
  ledger.commit();
  const reply = await serving;
  assert.equal(reply.ok, true);
  assert.deepEqual(puts, ['k']);
  assert.deepEqual(ledger.rows, ['received', 'outcome ok']);
});

test('a protocol v1 change whose `received` row cannot commit is refused and does nothing', async () => {
  const ledger = heldLedger();
  const puts: string[] = [];
  const master = { security: ledger.security, kv: { kvPut: async (key: string) => void puts.push(key) } };
  const serving = serveLegacyRequest(master as never, names, identity, { opcode: LegacyOp.KV_SET, payload: 'k|v' }, '127.0.0.1');
  ledger.fail(new Error('the store is fenced'));
  const reply = await serving;
  assert.equal(reply.ok, false);
  assert.match(reply.text, /the store is fenced/);
  assert.deepEqual(puts, []);
});
