import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { ErrorCode } from '../common/errors.js';
import { decodeEnvelope } from './codec.js';
import { Flags, HEADER_SIZE, OPCODE_ERROR, PROTOCOL_VERSION, type Frame } from './frame.js';
import { FrameReader } from './frame-reader.js';
import { Peer } from './peer.js';
import { rejectsWith, until, within } from './test-helpers.js';
import { tcpTransport } from './transport.js';

interface Server {
  port: number;
  peers: Peer[];
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1:0 whose connections are Peers that echo, stream or hold requests. */
async function startServer(setup: (peer: Peer) => void): Promise<Server> {
  const peers: Peer[] = [];
  const server = net.createServer((socket) => {
    const peer = new Peer(tcpTransport(socket));
    peers.push(peer);
    setup(peer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    peers,
    close: async () => {
      for (const p of peers) p.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function connect(port: number): Promise<Peer> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return new Peer(tcpTransport(socket));
}

/** Sends raw bytes and collects every frame until the server closes the socket. */
async function sendRaw(port: number, bytes: Buffer): Promise<Frame[]> {
  const socket = net.connect(port, '127.0.0.1');
  const reader = new FrameReader();
  const frames: Frame[] = [];
  socket.on('data', (chunk: Buffer) => frames.push(...reader.push(chunk)));
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(bytes);
  await within(once(socket, 'close'), 3000, 'the server to close the socket');
  return frames;
}

const echo = (peer: Peer): void => peer.onRequest((msg, reply) => reply.ok(msg.body));

test('requests and a 1 MiB binary body round-trip over a real TCP connection', async (t) => {
  const server = await startServer(echo);
  t.after(() => server.close());
  const client = await connect(server.port);
  t.after(() => client.close());
  assert.match(client.remoteAddress, /^127\.0\.0\.1:\d+$/);
  const blob = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 31) & 0xff;
  const [small, big] = await within(Promise.all([client.request(1, { hi: 1 }), client.request(2, blob)]), 5000, 'answers');
  assert.deepEqual(small, { hi: 1 });
  assert.ok(big instanceof Uint8Array && Buffer.from(big).equals(blob));
});

test('garbage over TCP gets an error frame and a closed socket, and the server keeps serving', async (t) => {
  const server = await startServer(echo);
  t.after(() => server.close());
  const frames = await sendRaw(server.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal(frames.length, 1);
  assert.equal(frames[0]?.opcode, OPCODE_ERROR);
  assert.equal(frames[0]?.flags, Flags.ERROR);
  const body = decodeEnvelope(frames[0] as Frame).body as { code: string; message: string };
  assert.equal(body.code, ErrorCode.UNKNOWN_VERSION);
  assert.match(body.message, /protocol version 71/);
  const client = await connect(server.port);
  t.after(() => client.close());
  assert.equal(await within(client.request(1, 'still up'), 2000, 'answer'), 'still up');
});

test('an oversize frame over TCP is refused on its header, before any body is sent', async (t) => {
  const server = await startServer(echo);
  t.after(() => server.close());
  const header = Buffer.alloc(HEADER_SIZE);
  header[0] = PROTOCOL_VERSION;
  header[1] = 1;
  header.writeUInt32BE(20_000_000, 4);
  const frames = await sendRaw(server.port, header);
  const body = decodeEnvelope(frames[0] as Frame).body as { code: string; message: string };
  assert.equal(body.code, ErrorCode.FRAME_TOO_LARGE);
  assert.match(body.message, /frame declares 20000000 bytes, over the 16777216-byte maximum/);
});

test('a server that drops the socket rejects the pending requests with E_CONNECTION_CLOSED', async (t) => {
  const server = await startServer((peer) => peer.onRequest(() => undefined));
  t.after(() => server.close());
  const client = await connect(server.port);
  const pending = client.request(1, null);
  await until(() => server.peers.length === 1, 'the server to accept');
  server.peers[0]?.close();
  await rejectsWith(pending, ErrorCode.CONNECTION_CLOSED);
});

test('a streamer sees back-pressure from a slow reader and is told when to resume', async (t) => {
  let streaming: Promise<number> | undefined;
  const server = await startServer((peer) =>
    peer.onRequest((_msg, reply) => {
      streaming = new Promise((resolve) => {
        const chunk = Buffer.alloc(64 * 1024);
        let sent = 0;
        while (sent < 2000 && reply.chunk(chunk)) sent++;
        peer.onDrain(() => {
          reply.end(sent);
          resolve(sent);
        });
      });
    }),
  );
  t.after(() => server.close());
  const socket = net.connect(server.port, '127.0.0.1');
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.pause();
  const request = Buffer.from([PROTOCOL_VERSION, 1, 0, 0, 0, 0, 0, 0]);
  const body = Buffer.from([0x82, 0xa3, 0x72, 0x69, 0x64, 0x01, 0xa4, 0x62, 0x6f, 0x64, 0x79, 0xc0]); // {rid:1, body:null}
  request.writeUInt32BE(body.length, 4);
  socket.write(Buffer.concat([request, body]));
  await until(() => streaming !== undefined, 'the stream to start');
  assert.equal(server.peers[0]?.writableNeedDrain, true);
  socket.resume();
  const sent = await within(streaming as Promise<number>, 5000, 'drain');
  assert.ok(sent < 2000, `the streamer should have paused, but sent all ${sent} chunks`);
});
