import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, TitanError } from '../common/errors.js';
import { DEFAULT_MAX_FRAME, encodeFrame, Flags, HEADER_SIZE, PROTOCOL_VERSION, type Frame } from './frame.js';
import { FrameReader } from './frame-reader.js';

interface Plain {
  opcode: number;
  flags: number;
  body: number[];
}

const plain = (f: Frame): Plain => ({ opcode: f.opcode, flags: f.flags, body: [...f.body] });

function sample(): Buffer[] {
  return [
    encodeFrame(1, 0, Buffer.from('hello')),
    encodeFrame(2, Flags.RESPONSE | Flags.JSON, Buffer.alloc(0)),
    encodeFrame(255, 0xff, Buffer.alloc(300, 7)),
    encodeFrame(3, Flags.STREAM, Buffer.from([1, 2, 3])),
  ];
}

function expectTitan(fn: () => unknown, code: ErrorCode): TitanError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof TitanError, `expected a TitanError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

/** Deterministic PRNG so a failing fuzz run can be replayed. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

test('frames pushed whole come back with version, opcode, flags and body', () => {
  const frames = new FrameReader().push(Buffer.concat(sample()));
  assert.equal(frames.length, 4);
  assert.ok(frames.every((f) => f.version === PROTOCOL_VERSION));
  assert.deepEqual(frames[0] && plain(frames[0]), { opcode: 1, flags: 0, body: [...Buffer.from('hello')] });
  assert.deepEqual(frames[1] && plain(frames[1]), { opcode: 2, flags: Flags.RESPONSE | Flags.JSON, body: [] });
  assert.equal(frames[2]?.body.length, 300);
});

test('the reader fed a stream one byte at a time yields the same frames', () => {
  const stream = Buffer.concat(sample());
  const expected = new FrameReader().push(stream).map(plain);
  const reader = new FrameReader();
  const got: Frame[] = [];
  for (let i = 0; i < stream.length; i++) got.push(...reader.push(stream.subarray(i, i + 1)));
  assert.deepEqual(got.map(plain), expected);
  assert.equal(reader.bufferedBytes, 0);
});

test('many small frames in one chunk are all cut, in order', () => {
  const count = 10_000;
  const frames = Array.from({ length: count }, (_, i) => encodeFrame(i % 256, 0, Buffer.from([i & 0xff, i >> 8])));
  const got = new FrameReader().push(Buffer.concat(frames));
  assert.equal(got.length, count);
  assert.ok(got.every((f, i) => f.opcode === i % 256 && f.body[0] === (i & 0xff) && f.body[1] === i >> 8));
});

test('a frame split across many chunks is reassembled once it is complete', () => {
  const body = Buffer.alloc(100_000, 9);
  const wire = Buffer.concat([encodeFrame(5, 0, body), encodeFrame(6, 0, Buffer.from('x'))]);
  const reader = new FrameReader();
  const got: Frame[] = [];
  for (let i = 0; i < wire.length; i += 1000) got.push(...reader.push(wire.subarray(i, i + 1000)));
  assert.deepEqual(
    got.map((f) => [f.opcode, f.body.length]),
    [
      [5, 100_000],
      [6, 1],
    ],
  );
  assert.ok(got[0]?.body.equals(body));
});

test('any sequence of frames split at arbitrary points decodes back equal', () => {
  const frameArb = fc.record({
    opcode: fc.integer({ min: 0, max: 255 }),
    flags: fc.integer({ min: 0, max: 255 }),
    body: fc.uint8Array({ maxLength: 200 }),
  });
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
      const wire = Buffer.concat(frames.map((f) => encodeFrame(f.opcode, f.flags, f.body)));
      const points = [...new Set(cuts.map((c) => (wire.length === 0 ? 0 : c % wire.length)))].sort((a, b) => a - b);
      const reader = new FrameReader();
      const got: Frame[] = [];
      let start = 0;
      for (const p of [...points, wire.length]) {
        got.push(...reader.push(wire.subarray(start, p)));
        start = p;
      }
      assert.deepEqual(
        got.map(plain),
        frames.map((f) => ({ opcode: f.opcode, flags: f.flags, body: [...f.body] })),
      );
      assert.equal(reader.bufferedBytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('a frame declaring more than the maximum is rejected as soon as its header arrives', () => {
  const header = Buffer.alloc(HEADER_SIZE);
  header[0] = PROTOCOL_VERSION;
  header.writeUInt32BE(20_000_000, 4);
  const reader = new FrameReader();
  const err = expectTitan(() => reader.push(header), ErrorCode.FRAME_TOO_LARGE);
  assert.match(err.message, /20000000 bytes, over the 16777216-byte maximum; split the payload or raise the master's --max-frame/);
  assert.equal(reader.bufferedBytes, 0);
  assert.equal(reader.maxFrameSize, DEFAULT_MAX_FRAME);
});

test('the maximum frame size is configurable and a body of exactly the maximum is accepted', () => {
  const reader = new FrameReader({ maxFrameSize: 10 });
  assert.equal(reader.push(encodeFrame(1, 0, Buffer.alloc(10))).length, 1);
  expectTitan(() => reader.push(encodeFrame(1, 0, Buffer.alloc(11))), ErrorCode.FRAME_TOO_LARGE);
});

test('a wrong version byte is rejected on the first byte, naming both versions', () => {
  const reader = new FrameReader();
  const err = expectTitan(() => reader.push(Buffer.from('G')), ErrorCode.UNKNOWN_VERSION);
  assert.match(err.message, /version 71, this peer speaks version 2/);
});

test('after an error the reader is poisoned and every later push throws the same error', () => {
  const reader = new FrameReader();
  const first = expectTitan(() => reader.push(Buffer.from('GET / HTTP/1.1\r\n')), ErrorCode.UNKNOWN_VERSION);
  assert.throws(
    () => reader.push(encodeFrame(1, 0, Buffer.from('ok'))),
    (err) => err === first,
  );
  assert.throws(
    () => reader.push(Buffer.alloc(0)),
    (err) => err === first,
  );
});

test('10,000 random byte buffers never throw anything but TitanError and never hang', () => {
  const random = xorshift(0x7174);
  const codes = new Set<string>();
  let framesSeen = 0;
  for (let run = 0; run < 10_000; run++) {
    const length = Math.floor(random() * 64);
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
    // Bias towards valid headers with small lengths so the deeper paths get exercised too.
    if (length > 0 && random() < 0.7) bytes[0] = PROTOCOL_VERSION;
    if (length >= HEADER_SIZE && random() < 0.5) bytes.writeUInt32BE(Math.floor(random() * 40), 4);
    const reader = new FrameReader({ maxFrameSize: random() < 0.5 ? 16 : DEFAULT_MAX_FRAME });
    let pos = 0;
    try {
      for (let step = 0; step < 64 && pos < length; step++) {
        const size = 1 + Math.floor(random() * 16);
        framesSeen += reader.push(bytes.subarray(pos, pos + size)).length;
        pos += size;
      }
    } catch (err) {
      assert.ok(err instanceof TitanError, `run ${run}: non-TitanError ${String(err)}`);
      codes.add(err.code);
    }
  }
  assert.ok(framesSeen > 0, 'the fuzz input should produce some valid frames');
  assert.deepEqual([...codes].sort(), [ErrorCode.FRAME_TOO_LARGE, ErrorCode.UNKNOWN_VERSION].sort());
});

test('encodeFrame writes the documented header layout and refuses out-of-range fields', () => {
  const frame = encodeFrame(0x12, Flags.RESPONSE | Flags.IGNORABLE, Buffer.from([0xaa, 0xbb]));
  assert.deepEqual([...frame], [2, 0x12, 0x21, 0, 0, 0, 0, 2, 0xaa, 0xbb]);
  expectTitan(() => encodeFrame(256, 0, Buffer.alloc(0)), ErrorCode.BAD_FRAME);
  expectTitan(() => encodeFrame(1, -1, Buffer.alloc(0)), ErrorCode.BAD_FRAME);
});
