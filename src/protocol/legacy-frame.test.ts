import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TitanError } from '../common/errors.js';
import { encodeLegacyFrame, LegacyFrameReader, LegacyOp } from './legacy-frame.js';

function request(opcode: number, text: string): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.from([1, opcode, 0, 0, 0, 0, 0, 0]);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

test('a v1 request fed one byte at a time comes out whole, once, with its UTF-8 text', () => {
  const bytes = request(LegacyOp.KV_SET, 'greeting|héllo wörld');
  const reader = new LegacyFrameReader(1024);
  const seen = [];
  for (let i = 0; i < bytes.length; i++) {
    const got = reader.push(bytes.subarray(i, i + 1));
    if (got !== undefined) seen.push({ at: i, got });
  }
  assert.deepEqual(seen, [{ at: bytes.length - 1, got: { opcode: LegacyOp.KV_SET, payload: 'greeting|héllo wörld' } }]);
});

test('an empty payload is a complete request', () => {
  assert.deepEqual(new LegacyFrameReader(10).push(request(LegacyOp.STATS, '')), { opcode: LegacyOp.STATS, payload: '' });
});

test('a request over the size cap is refused as soon as its header arrives', () => {
  const header = request(LegacyOp.UPLOAD_ASSET, 'x'.repeat(100)).subarray(0, 8);
  assert.throws(
    () => new LegacyFrameReader(50).push(header),
    (err: unknown) => err instanceof TitanError && err.code === 'E_FRAME_TOO_LARGE' && /100 bytes, over this master's 50-byte maximum/.test(err.message),
  );
});

test('a payload that is not UTF-8 is refused', () => {
  const bytes = request(LegacyOp.KV_GET, 'ab');
  bytes[9] = 0xff;
  assert.throws(
    () => new LegacyFrameReader(10).push(bytes),
    (err: unknown) => err instanceof TitanError && /not valid UTF-8/.test(err.message),
  );
});

test('a reply has the v1 header, the reply opcode and the text length', () => {
  const frame = encodeLegacyFrame(LegacyOp.ACK, 'DAG_ACCEPTED');
  assert.deepEqual([...frame.subarray(0, 4)], [1, 0x50, 0, 0]);
  assert.equal(frame.readUInt32BE(4), 12);
  assert.equal(frame.subarray(8).toString(), 'DAG_ACCEPTED');
});
