import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, TitanError } from '../common/errors.js';
import { decodeEnvelope, encodeMessage } from './codec.js';
import { encodeFrame, Flags, OPCODE_ERROR, type Frame } from './frame.js';
import { FrameReader } from './frame-reader.js';
import { Peer, type PeerOptions, type Replier } from './peer.js';
import { rejectsWith, until, within } from './test-helpers.js';
import { memoryTransportPair, type Transport } from './transport.js';

function peers(options: PeerOptions = {}): { client: Peer; server: Peer } {
  const [a, b] = memoryTransportPair();
  return { client: new Peer(a, options), server: new Peer(b, options) };
}

/** The far end of a Peer, spoken to in raw bytes: what a buggy or foreign client looks like. */
function rawPeer(options: PeerOptions = {}): { server: Peer; raw: Transport; frames: Frame[]; closed: Promise<void> } {
  const [a, b] = memoryTransportPair();
  const server = new Peer(b, options);
  const reader = new FrameReader();
  const frames: Frame[] = [];
  a.onData((chunk) => frames.push(...reader.push(chunk)));
  const closed = new Promise<void>((resolve) => a.onClose(() => resolve()));
  return { server, raw: a, frames, closed };
}

test('concurrent requests on one connection resolve to their own responses, answered out of order', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  const held: Array<{ n: number; reply: Replier }> = [];
  const count = 50;
  server.onRequest((msg, reply) => {
    held.push({ n: (msg.body as { n: number }).n, reply });
    if (held.length === count) for (const h of held.reverse()) h.reply.ok({ doubled: h.n * 2 });
  });
  const answers = await within(Promise.all(Array.from({ length: count }, (_, n) => client.request(5, { n }))), 2000, 'all answers');
  assert.deepEqual(
    answers,
    Array.from({ length: count }, (_, n) => ({ doubled: n * 2 })),
  );
  assert.equal(client.pendingCount, 0);
});

test('both sides can be requester at once without their request ids colliding', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  client.onRequest((msg, reply) => reply.ok(`client saw ${String(msg.body)}`));
  server.onRequest((msg, reply) => reply.ok(`server saw ${String(msg.body)}`));
  const [fromServer, fromClient] = await within(Promise.all([server.request(1, 'a'), client.request(1, 'b')]), 2000, 'answers');
  assert.equal(fromServer, 'client saw a');
  assert.equal(fromClient, 'server saw b');
});

test('an error response rejects the request with its code and message', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  server.onRequest((msg, reply) => reply.error(ErrorCode.UNKNOWN_JOB, `job ${String(msg.body)} does not exist`));
  await rejectsWith(client.request(31, 'j-42'), ErrorCode.UNKNOWN_JOB, /job j-42 does not exist/);
});

test('a handler that throws or rejects answers with an error instead of leaving the request hanging', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  server.onRequest(async (msg) => {
    if (msg.opcode === 1) throw new TitanError(ErrorCode.INVALID_REQUEST, 'priority must be an integer');
    if (msg.opcode === 2) throw new Error('disk on fire');
    await Promise.resolve();
    throw new TitanError(ErrorCode.UNKNOWN_WORKER, 'no such worker');
  });
  await rejectsWith(client.request(1, null), ErrorCode.INVALID_REQUEST, /priority must be an integer/);
  await rejectsWith(client.request(2, null), ErrorCode.INTERNAL, /disk on fire/);
  await rejectsWith(client.request(3, null), ErrorCode.UNKNOWN_WORKER);
});

test('an error code the receiver does not know arrives as E_INTERNAL with the code in the message', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  server.onRequest((_msg, reply) => reply.error('E_FROM_THE_FUTURE' as ErrorCode, 'newer master'));
  await rejectsWith(client.request(1, null), ErrorCode.INTERNAL, /E_FROM_THE_FUTURE: newer master/);
});

test('closing the connection rejects every pending request with E_CONNECTION_CLOSED', async () => {
  const { client, server } = peers();
  const arrived = new Promise<void>((resolve) => server.onRequest(() => resolve()));
  const pending = [1, 2].map((op) => rejectsWith(client.request(op, null), ErrorCode.CONNECTION_CLOSED, /closed/));
  await within(arrived, 2000, 'the request to arrive');
  server.close();
  await Promise.all(pending);
  await rejectsWith(client.request(3, 'late'), ErrorCode.CONNECTION_CLOSED);
  assert.equal(client.notify(4, 'late'), false);
});

test('close is idempotent, rejects local pending requests at once and fires onClose once', async () => {
  const { client, server } = peers();
  let closes = 0;
  client.onClose(() => closes++);
  const serverClosed = new Promise<void>((resolve) => server.onClose(resolve));
  const p = client.request(1, null);
  client.close();
  client.close();
  await rejectsWith(p, ErrorCode.CONNECTION_CLOSED, /closed locally/);
  await within(serverClosed, 2000, 'the server side to see the close');
  assert.equal(closes, 1);
  assert.ok(client.isClosed && server.isClosed);
});

test('a request with no answer rejects with E_TIMEOUT and a late answer is ignored', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  const held: Replier[] = [];
  server.onRequest((msg, reply) => (msg.opcode === 1 ? void held.push(reply) : reply.ok('pong')));
  await rejectsWith(client.request(1, null, { timeoutMs: 20 }), ErrorCode.TIMEOUT, /no answer within 20 ms/);
  held[0]?.ok('too late');
  // Frames arrive in order, so the late answer has been dropped by the time this one resolves.
  assert.equal(await within(client.request(2, null), 2000, 'pong'), 'pong');
  assert.equal(client.pendingCount, 0);
});

test('a stream delivers its chunks in order, then resolves with the end body', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  server.onRequest((msg, reply) => {
    const lines = msg.body as string[];
    for (const line of lines) assert.equal(reply.chunk({ line }), true);
    reply.end({ total: lines.length });
  });
  const got: unknown[] = [];
  const end = await within(
    client.stream(35, ['a', 'b', 'c'], (c) => got.push(c)),
    2000,
    'stream end',
  );
  assert.deepEqual(got, [{ line: 'a' }, { line: 'b' }, { line: 'c' }]);
  assert.deepEqual(end, { total: 3 });
});

test('a stream that fails midway rejects with the error after the chunks sent before it', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  server.onRequest((_msg, reply) => {
    reply.chunk(1);
    reply.error(ErrorCode.UNKNOWN_JOB, 'job vanished');
    reply.chunk(2);
  });
  const got: unknown[] = [];
  await rejectsWith(
    client.stream(35, null, (c) => got.push(c)),
    ErrorCode.UNKNOWN_JOB,
  );
  assert.deepEqual(got, [1]);
});

test('aborting a stream cancels it on the serving side and resolves the stream', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  const cancelled = new Promise<void>((resolve) => {
    server.onRequest((_msg, reply) => {
      reply.signal.addEventListener('abort', () => resolve());
      reply.chunk('first');
    });
  });
  const controller = new AbortController();
  const got: unknown[] = [];
  const done = client.stream(
    35,
    null,
    (c) => {
      got.push(c);
      controller.abort();
    },
    { signal: controller.signal },
  );
  assert.equal(await within(done, 2000, 'the stream to resolve'), undefined);
  await within(cancelled, 2000, 'the server to see the cancel');
  assert.deepEqual(got, ['first']);
});

test('a one-way message reaches the handler with rid 0 and a replier that sends nothing', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  const seen = new Promise<{ rid: number; body: unknown; expectsReply: boolean }>((resolve) =>
    server.onRequest((msg, reply) => {
      reply.ok('ignored');
      resolve({ rid: msg.rid, body: msg.body, expectsReply: reply.expectsReply });
    }),
  );
  assert.equal(client.notify(11, { running: 2 }), true);
  assert.deepEqual(await within(seen, 2000, 'the message'), { rid: 0, body: { running: 2 }, expectsReply: false });
});

test('a JSON request gets a JSON response so a JSON-only client can read it', async (t) => {
  const { server, raw, frames } = rawPeer();
  t.after(() => server.close());
  server.onRequest((msg, reply) => reply.ok({ echo: msg.body, json: msg.json }));
  raw.write(encodeFrame(2, Flags.JSON, Buffer.from('{"rid":7,"body":"ping"}')));
  await until(() => frames.length > 0, 'the response');
  const [frame] = frames;
  assert.ok(frame);
  assert.equal(frame.flags, Flags.RESPONSE | Flags.JSON);
  assert.deepEqual(JSON.parse(frame.body.toString('utf8')), { rid: 7, body: { echo: 'ping', json: true } });
});

test('a garbage frame gets an error frame back and the connection closed', async () => {
  const { server, raw, frames, closed } = rawPeer();
  const reported = new Promise<[TitanError, string]>((resolve) => server.onProtocolError((err, origin) => resolve([err, origin])));
  raw.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  await within(closed, 2000, 'the connection to close');
  assert.equal(frames.length, 1);
  const [frame] = frames;
  assert.ok(frame);
  assert.equal(frame.opcode, OPCODE_ERROR);
  assert.equal(frame.flags, Flags.ERROR);
  const env = decodeEnvelope(frame);
  assert.equal(env.rid, 0);
  assert.equal((env.body as { code: string }).code, ErrorCode.UNKNOWN_VERSION);
  const [err, origin] = await within(reported, 2000, 'onProtocolError');
  assert.equal(err.code, ErrorCode.UNKNOWN_VERSION);
  assert.equal(origin, 'local');
});

test('a frame whose body is not an envelope is a protocol error answered with E_BAD_BODY', async () => {
  const { server, raw, frames, closed } = rawPeer();
  server.onRequest(() => assert.fail('the handler must not see a malformed frame'));
  raw.write(encodeFrame(2, 0, Buffer.from([0xc1, 0xc1])));
  await within(closed, 2000, 'the connection to close');
  assert.equal((decodeEnvelope(frames[0] as Frame).body as { code: string }).code, ErrorCode.BAD_BODY);
});

test('the requester learns of a protocol error the remote reported, with its code in the rejection', async () => {
  const { server: client, raw, frames } = rawPeer();
  const reported = new Promise<[TitanError, string]>((resolve) => client.onProtocolError((err, origin) => resolve([err, origin])));
  const answer = client.request(1, null);
  await until(() => frames.length > 0, 'the request');
  // What a server that hit a framing problem sends before it hangs up.
  raw.write(encodeMessage(OPCODE_ERROR, Flags.ERROR, { rid: 0, body: { code: 'E_BAD_FRAME', message: 'bad' } }, false));
  await rejectsWith(answer, ErrorCode.CONNECTION_CLOSED, /reported E_BAD_FRAME: bad/);
  const [err, origin] = await within(reported, 2000, 'onProtocolError');
  assert.deepEqual([err.code, origin], [ErrorCode.BAD_FRAME, 'remote']);
});

test('a cancel that arrives before the first chunk still aborts the serving side', async (t) => {
  const { client, server } = peers();
  t.after(() => client.close());
  let serverReply: Replier | undefined;
  server.onRequest((_msg, reply) => {
    serverReply = reply;
  });
  const controller = new AbortController();
  const done = client.stream(35, null, () => assert.fail('no chunk was sent'), { signal: controller.signal });
  await until(() => serverReply !== undefined, 'the request to arrive');
  controller.abort();
  assert.equal(await within(done, 2000, 'the stream to resolve'), undefined);
  await until(() => serverReply?.signal.aborted === true, 'the server to see the cancel');
  assert.equal(serverReply?.chunk('too late'), false);
});

test('closing the connection aborts the signal of requests still being served', async () => {
  const { client, server } = peers();
  let reached!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  const aborted = new Promise<void>((resolve) =>
    server.onRequest((_msg, reply) => {
      reply.signal.addEventListener('abort', () => resolve());
      reached();
    }),
  );
  const rejected = rejectsWith(client.request(1, null), ErrorCode.CONNECTION_CLOSED);
  await within(arrived, 2000, 'the request to arrive');
  client.close();
  await within(aborted, 2000, 'the abort');
  await rejected;
});
