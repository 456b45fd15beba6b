import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, TitanError } from '../common/errors.js';
import type { Replier } from '../protocol/replier.js';
import { auditedReply } from './audited-reply.js';
import type { Committing } from './pending-writes.js';

/** A replier that records what it was told, in order. */
function recorder(): { reply: Replier; said: string[] } {
  const said: string[] = [];
  return {
    said,
    reply: {
      expectsReply: true,
      signal: new AbortController().signal,
      ok: (body) => void said.push(`ok ${JSON.stringify(body)}`),
      error: (code, message) => void said.push(`error ${code} ${message}`),
      chunk: () => true,
      whenWritable: (cb) => cb(),
      end: (body) => void said.push(`end ${JSON.stringify(body)}`),
    },
  };
}

/** What is still committing, settled by the test. */
function committing(): { handle: Committing; commit: () => void; fail: (err: unknown) => void } {
  const waiting: Array<[() => void, (err: unknown) => void]> = [];
  return {
    handle: { after: (committed, failed) => void waiting.push([committed, failed]) },
    commit: () => waiting.splice(0).forEach(([committed]) => committed()),
    fail: (err) => waiting.splice(0).forEach(([, failed]) => failed(err)),
  };
}

void describe('auditedReply', () => {
  void test('writes one row with the outcome and the ids the answer created, then answers at once when nothing is committing', () => {
    const { reply, said } = recorder();
    const rows: string[] = [];
    const out = auditedReply(reply, 'a', (target, result) => void rows.push(`${target} ${result}`));
    out.ok({ jobIds: ['a', 'b'] });
    out.error(ErrorCode.INTERNAL, 'late');
    assert.deepEqual(rows, ['a,b ok']);
    assert.deepEqual(said, ['ok {"jobIds":["a","b"]}', 'error E_INTERNAL late']);
  });

  void test('an answer waits for the writes it depends on (PostgreSQL) and goes out once they committed', () => {
    const { reply, said } = recorder();
    const pending = committing();
    auditedReply(reply, '', () => pending.handle).ok({ id: 'tok' });
    assert.deepEqual(said, [], 'nothing is answered before the commit');
    pending.commit();
    assert.deepEqual(said, ['ok {"id":"tok"}']);
  });

  void test('when they fail, the answer is their error, not an ok: E_FENCED for a deposed master', () => {
    const { reply, said } = recorder();
    const pending = committing();
    auditedReply(reply, '', () => pending.handle).end({ id: 'tok' });
    pending.fail(new TitanError(ErrorCode.FENCED, 'another master leads (epoch 2)'));
    assert.deepEqual(said, ['error E_FENCED another master leads (epoch 2)']);
  });
});
