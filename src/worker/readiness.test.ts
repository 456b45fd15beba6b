import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { freePort } from './free-port.js';
import { isSelfConnected, waitUntilReady } from './readiness.js';

test('a free port is one the OS handed out and can be listened on', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise((resolve) => server.close(resolve));
});

test('an HTTP readiness check waits for a 2xx/3xx on its path, ignoring other statuses', async (t) => {
  let hits = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/health') res.statusCode = 404;
    else res.statusCode = ++hits < 3 ? 503 : 302;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const ready = await waitUntilReady({ port, path: '/health', signal: AbortSignal.timeout(10_000), firstDelayMs: 1 });
  assert.equal(ready, true);
  assert.equal(hits, 3);
});

test('a readiness wait ends with false as soon as its signal aborts', async () => {
  const port = await freePort();
  const controller = new AbortController();
  const waiting = waitUntilReady({ port, signal: controller.signal });
  controller.abort();
  assert.equal(await waiting, false);
});

test('a socket connected to itself (TCP simultaneous open on a free loopback port) is not a service', async () => {
  const port = await freePort();
  // Forced here with localPort; the kernel picks such a source port by itself now and then.
  const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1', localPort: port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  try {
    assert.equal(isSelfConnected(socket), true);
  } finally {
    socket.destroy();
  }
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const real = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  await new Promise<void>((resolve) => real.once('connect', resolve));
  assert.equal(isSelfConnected(real), false);
  real.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('a TCP probe hangs up gently: a service still answering after the probe is done sees an orderly close, not a reset', async (t) => {
  const errors: string[] = [];
  let serverSideClosed!: () => void;
  const closed = new Promise<void>((resolve) => (serverSideClosed = resolve));
  // A service that keeps writing after the probe hung up. A probe that resets instead of reading
  // to the end makes that an EPIPE/ECONNRESET, which kills a real service whose sockets have no
  // error listener (a one-line `net.createServer((s) => s.end('v1'))`).
  const server = createNetServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', (err: NodeJS.ErrnoException) => errors.push(err.code ?? err.message));
    socket.on('close', () => serverSideClosed());
    socket.on('end', () => {
      socket.write('x'.repeat(64 * 1024));
      setTimeout(() => socket.end('y'.repeat(64 * 1024)), 50);
    });
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  assert.equal(await waitUntilReady({ port, signal: AbortSignal.timeout(10_000), firstDelayMs: 1 }), true);
  await closed;
  assert.deepEqual(errors, []);
});
