import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, TitanError } from '../common/errors.js';
import { decodeEnvelope, encodeMessage } from './codec.js';
import { Flags, type Frame } from './frame.js';
import { FrameReader } from './frame-reader.js';
import { Peer, type PeerOptions } from './peer.js';
import { rejectsWith, until, within } from './test-helpers.js';
import { memoryTransportPair, type Transport } from './transport.js';

const KNOWN = new Set([1, 2, 3]);
const isKnownOpcode = (op: number): boolean => KNOWN.has(op);

function peers(options: PeerOptions = {}): { client: Peer; server: Peer; clientWrites: () => number } {
  const [a, b] = memoryTransportPair();
  let writes = 0;
  const counted: Transport = {
    get remoteAddress() {
      return a.remoteAddress;
    },
    write: (data) => {
      writes++;
      return a.write(data);
    },
    close: () => a.close(),
    onData: (cb) => a.onData(cb),
    onClose: (cb) => a.onClose(cb),
    onDrain: (cb) => a.onDrain(cb),
  };
  return { client: new Peer(counted), server: new Peer(b, options), clientWrites: () => writes };
}

test('requests issued in the same tick go out in one transport write', async (t) => {
  const { client, server, clientWrites } = peers();
  t.after(() => client.close());
  server.onRequest((msg, reply) => reply.ok(msg.body));
  const answers = Promise.all(Array.from({ length: 500 }, (_, i) => client.request(1, i)));
  assert.equal(clientWrites(), 0, 'nothing is written synchronously');
  assert.deepEqual(
    await within(answers, 2000, 'answers'),
    Array.from({ length: 500 }, (_, i) => i),
  );
  assert.equal(clientWrites(), 1);
});

test('an unknown opcode not flagged IGNORABLE is a protocol error that closes the connection', async () => {
  const { client, server } = peers({ isKnownOpcode });
  const reported = new Promise<TitanError>((resolve) => server.onProtocolError((err) => resolve(err)));
  const closed = new Promise<void>((resolve) => client.onClose(resolve));
  const answer = client.request(99, null);
  await rejectsWith(answer, ErrorCode.CONNECTION_CLOSED, /E_UNKNOWN_OPCODE: opcode 99 is unknown/);
  assert.equal((await within(reported, 2000, 'protocol error')).code, ErrorCode.UNKNOWN_OPCODE);
  await within(closed, 2000, 'close');
});

test('an unknown IGNORABLE message is dropped and an unknown IGNORABLE request answered, keeping the connection', async (t) => {
  const { client, server } = peers({ isKnownOpcode });
  t.after(() => client.close());
  const seen: number[] = [];
  server.onRequest((msg, reply) => {
    seen.push(msg.opcode);
    reply.ok('known');
  });
  client.notify(98, 'new-fangled', { ignorable: true });
  await rejectsWith(client.request(97, null, { ignorable: true }), ErrorCode.UNKNOWN_OPCODE, /opcode 97/);
  assert.equal(await within(client.request(1, null), 2000, 'known'), 'known');
  assert.deepEqual(seen, [1]);
});

test('a request body over the frame maximum is refused locally and the connection stays usable', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  server.onRequest((_msg, reply) => reply.ok('fine'));
  const small = new Peer(memoryTransportPair()[0], { maxFrameSize: 64 });
  t.after(() => small.close());
  await rejectsWith(small.request(1, 'x'.repeat(100)), ErrorCode.FRAME_TOO_LARGE, /over the 64-byte frame maximum/);
  assert.throws(() => small.notify(1, 'x'.repeat(100)), { code: ErrorCode.FRAME_TOO_LARGE });
  assert.equal(await within(client.request(1, null), 2000, 'answer'), 'fine');
});

test('a reply over the frame maximum reaches the requester as an E_FRAME_TOO_LARGE error', async (t) => {
  const { client, server } = peers({ maxFrameSize: 1024 });
  t.after(() => client.close());
  server.onRequest((_msg, reply) => reply.ok(Buffer.alloc(4096)));
  await rejectsWith(client.request(1, null), ErrorCode.FRAME_TOO_LARGE, /reply body .* over the 1024-byte frame maximum/);
});

test('a body that cannot be encoded rejects the request instead of throwing', async (t) => {
  const { client } = peers();
  t.after(() => client.close());
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  await rejectsWith(client.request(1, cyclic), ErrorCode.BAD_BODY);
  assert.equal(client.pendingCount, 0);
});

test('a peer without a request handler answers requests with E_INVALID_REQUEST', async (t) => {
  const { client } = peers();
  t.after(() => client.close());
  await rejectsWith(client.request(1, null), ErrorCode.INVALID_REQUEST, /accepts no requests/);
});

test('a stream whose chunk callback throws is cancelled and rejects with that error', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  let cancelled = false;
  server.onRequest((_msg, reply) => {
    reply.signal.addEventListener('abort', () => (cancelled = true));
    reply.chunk('one');
  });
  const boom = new Error('consumer failed');
  await assert.rejects(
    client.stream(1, null, () => {
      throw boom;
    }),
    (err) => err === boom,
  );
  await until(() => cancelled, 'the cancel to reach the server');
});

test('each reply mirrors the JSON flag of its own request on a shared connection', async () => {
  const [raw, b] = memoryTransportPair();
  const server = new Peer(b);
  const reader = new FrameReader();
  const frames: Frame[] = [];
  raw.onData((chunk) => frames.push(...reader.push(chunk)));
  server.onRequest((msg, reply) => reply.ok(msg.json));
  raw.write(encodeMessage(1, 0, { rid: 1, body: null }, false));
  raw.write(encodeMessage(1, 0, { rid: 2, body: null }, true));
  await until(() => frames.length === 2, 'two replies');
  assert.deepEqual(
    frames.map((f) => [f.flags, decodeEnvelope(f).body]),
    [
      [Flags.RESPONSE, false],
      [Flags.RESPONSE | Flags.JSON, true],
    ],
  );
  server.close();
});
