import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encode } from '@msgpack/msgpack';
import { ErrorCode, TitanError } from '../common/errors.js';
import { decodeEnvelope, encodeEnvelope, encodeMessage, type Envelope } from './codec.js';
import { encodeFrame, Flags, HEADER_SIZE, PROTOCOL_VERSION, type Frame } from './frame.js';
import { FrameReader } from './frame-reader.js';

function frameOf(body: Uint8Array, json = false, opcode = 7): Frame {
  return { version: PROTOCOL_VERSION, opcode, flags: json ? Flags.JSON : 0, body: Buffer.from(body) };
}

function roundTrip(env: Envelope, json: boolean): Envelope {
  return decodeEnvelope(frameOf(encodeEnvelope(env, json), json));
}

function rejectsBody(frame: Frame, pattern: RegExp): void {
  assert.throws(
    () => decodeEnvelope(frame),
    (err: unknown) => err instanceof TitanError && err.code === ErrorCode.BAD_BODY && pattern.test(err.message),
  );
}

// Values both encodings carry exactly: no -0 (becomes 0), no NaN, no undefined (becomes null).
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0));
const key = fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__');
const { plainValue } = fc.letrec((tie) => ({
  plainValue: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    finite,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('plainValue'), { maxLength: 5 }),
    fc.dictionary(key, tie('plainValue'), { maxKeys: 5, noNullPrototype: true }),
  ),
}));
const rid = fc.integer({ min: 0, max: 0x7fff_ffff });

test('any plain envelope round-trips through MessagePack and through JSON', () => {
  fc.assert(
    fc.property(rid, plainValue, fc.boolean(), (r, body, json) => {
      assert.deepEqual(roundTrip({ rid: r, body }, json), { rid: r, body });
    }),
    { numRuns: 500 },
  );
});

test('binary data round-trips as bytes in MessagePack mode', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const out = roundTrip({ rid: 3, body: { data: Buffer.from(bytes), nested: [bytes] } }, false);
      const body = out.body as { data: unknown; nested: unknown[] };
      assert.ok(body.data instanceof Uint8Array && body.nested[0] instanceof Uint8Array);
      assert.deepEqual([...body.data], [...bytes]);
      assert.deepEqual([...body.nested[0]], [...bytes]);
    }),
    { numRuns: 100 },
  );
});

test('an undefined body travels as null in both encodings', () => {
  assert.deepEqual(roundTrip({ rid: 1, body: undefined }, false), { rid: 1, body: null });
  assert.deepEqual(roundTrip({ rid: 1, body: undefined }, true), { rid: 1, body: null });
});

test('JSON mode writes the envelope as readable UTF-8 JSON', () => {
  const bytes = encodeEnvelope({ rid: 4, body: { name: 'ünï' } }, true);
  assert.equal(Buffer.from(bytes).toString('utf8'), '{"rid":4,"body":{"name":"ünï"}}');
});

test('encodeMessage builds the same frame as encodeFrame over encodeEnvelope, and sets the JSON flag', () => {
  for (const json of [false, true]) {
    const env = { rid: 9, body: { a: [1, 2, 'x'], b: null } };
    const direct = encodeMessage(12, Flags.RESPONSE, env, json);
    const composed = encodeFrame(12, Flags.RESPONSE | (json ? Flags.JSON : 0), encodeEnvelope(env, json));
    assert.ok(direct.equals(composed));
    const [frame] = new FrameReader().push(direct);
    assert.ok(frame);
    assert.deepEqual(decodeEnvelope(frame), env);
  }
  assert.equal((encodeMessage(1, Flags.JSON, { rid: 0, body: 1 }, false)[2] as number) & Flags.JSON, 0);
  assert.equal(encodeMessage(1, 0, { rid: 0, body: 1 }, false).length, HEADER_SIZE + encodeEnvelope({ rid: 0, body: 1 }, false).length);
});

test('bodies that are not an envelope {rid, body} are rejected with E_BAD_BODY', () => {
  rejectsBody(frameOf(encode([1, 2])), /is not a map/);
  rejectsBody(frameOf(encode(42)), /is not a map/);
  rejectsBody(frameOf(encode(null)), /is not a map/);
  rejectsBody(frameOf(encode({ body: 1 })), /rid undefined/);
  rejectsBody(frameOf(encode({ rid: -1, body: 1 })), /rid -1/);
  rejectsBody(frameOf(encode({ rid: 1.5, body: 1 })), /rid 1.5/);
  rejectsBody(frameOf(encode({ rid: '1', body: 1 })), /rid "1"/);
  rejectsBody(frameOf(Buffer.from('[1]'), true), /is not a map/);
});

test('a missing body field decodes as null so clients may omit it', () => {
  assert.deepEqual(decodeEnvelope(frameOf(Buffer.from('{"rid":0}'), true)), { rid: 0, body: null });
});

test('undecodable bytes are rejected with E_BAD_BODY naming the encoding and the fix', () => {
  rejectsBody(frameOf(Buffer.alloc(0)), /not valid MessagePack/);
  rejectsBody(frameOf(encode({ rid: 1, body: 'abc' }).subarray(0, 8)), /not valid MessagePack/);
  rejectsBody(frameOf(Buffer.from([0xc1])), /not valid MessagePack/);
  rejectsBody(frameOf(Buffer.from('{"rid":1,'), true), /not valid UTF-8 JSON.*set the JSON flag|not valid UTF-8 JSON/);
  rejectsBody(frameOf(Buffer.from([0x7b, 0xff, 0x7d]), true), /not valid UTF-8/);
  rejectsBody(frameOf(Buffer.from('{"rid":1,"body":2}')), /not valid MessagePack.*set the JSON flag/);
});

test('bodies that cannot be encoded fail with E_BAD_BODY instead of a raw library error', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (const json of [false, true]) {
    assert.throws(() => encodeEnvelope({ rid: 1, body: cyclic }, json), { code: ErrorCode.BAD_BODY });
    assert.throws(() => encodeMessage(1, 0, { rid: 1, body: cyclic }, json), { code: ErrorCode.BAD_BODY });
  }
  assert.throws(() => encodeEnvelope({ rid: 1, body: 10n }, true), { code: ErrorCode.BAD_BODY });
  assert.throws(() => encodeEnvelope({ rid: -2, body: 1 }, false), { code: ErrorCode.INVALID_REQUEST });
});

test('10,000 random bodies never make decodeEnvelope throw anything but E_BAD_BODY', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, json) => {
      try {
        const env = decodeEnvelope(frameOf(bytes, json));
        assert.ok(Number.isSafeInteger(env.rid) && env.rid >= 0);
      } catch (err) {
        assert.ok(err instanceof TitanError && err.code === ErrorCode.BAD_BODY, String(err));
      }
    }),
    { numRuns: 10_000 },
  );
});

test('bytes in a body reach a JSON-speaking peer as base64 strings', () => {
  const encoded = encodeEnvelope({ rid: 3, body: { data: Buffer.from('hi'), raw: new Uint8Array([1, 2]) } }, true);
  assert.deepEqual(JSON.parse(Buffer.from(encoded).toString('utf8')), { rid: 3, body: { data: 'aGk=', raw: 'AQI=' } });
});
