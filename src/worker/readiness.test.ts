import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { freePort } from './free-port.js';
import { waitUntilReady } from './readiness.js';

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
