import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TitanClient } from '../src/sdk/client.js';
import { Cluster, until } from './harness.js';

const SERVER = `
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/crash":
            os._exit(1)
        self.send_response(200); self.end_headers(); self.wfile.write(str(os.getpid()).encode())
    def log_message(self, *a): pass
print("serving on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`;

async function get(port: number, path = '/'): Promise<string | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    return await response.text();
  } catch {
    return undefined;
  }
}

// The service is a Python script: run both ways, forked from the warm interpreter and spawned (--no-warm).
for (const warm of [true, false]) {
  describe(`services kept alive by their workers (${warm ? 'warm' : '--no-warm'})`, () => {
    const args = warm ? [] : ['--no-warm'];
    // Long enough for a master restart on a loaded machine (the worker's lease is this less a margin),
    // short enough that a dead worker's service is placed again within the test's wait.
    const cluster = new Cluster(6_000);
    let client: TitanClient;
    let script: string;
    before(async () => {
      await cluster.startMaster();
      await cluster.startWorker('s1', { slots: 4, args });
      client = await cluster.client();
      script = join(cluster.dir, 'server.py');
      writeFileSync(script, SERVER);
    });
    after(() => cluster.close());

    async function deploy(...extra: string[]): Promise<{ id: string; port: number }> {
      const result = await cluster.cli(['deploy', script, '--json', ...extra]);
      assert.equal(result.code, 0, result.stderr);
      const id = (JSON.parse(result.stdout) as { serviceIds: string[] }).serviceIds[0]!;
      const service = await until(`service ${id} to be ready`, async () => (await client.services()).find((s) => s.id === id && s.ready && s.port !== null));
      return { id, port: service.port! };
    }

    test('a service that crashes is restarted on the same port and answers again', async () => {
      const { id, port } = await deploy();
      const firstPid = await get(port);
      assert.ok(firstPid !== undefined);
      await get(port, '/crash');
      const secondPid = await until('the replacement to answer', async () => {
        const pid = await get(port);
        return pid !== undefined && pid !== firstPid ? pid : undefined;
      });
      assert.notEqual(secondPid, firstPid);
      const listed = await until('the restart to be counted', async () => (await client.services()).find((s) => s.id === id && s.restarts >= 1));
      assert.equal(listed.port, port);
      await client.stopService(id);
    });

    test('a crash-looping service goes dead with its reason', async () => {
      const { jobId } = await client.submit({
        command: 'sh -c "echo starting; exit 3"',
        name: 'looper',
        service: { port: null, restart: 'always', maxRestarts: 2, windowSeconds: 60 },
      });
      const job = await client.wait(jobId);
      assert.equal(job.state, 'dead');
      assert.match(job.reason ?? '', /crash loop/);
    });

    test('a stopped service is not restarted', async () => {
      const { id, port } = await deploy();
      const result = await cluster.cli(['stop', id]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal((await client.status(id)).state, 'stopped');
      await until('the port to stop answering', async () => (await get(port)) === undefined);
      assert.ok(!(await client.services()).some((s) => s.id === id));
    });

    test('a service survives a master SIGKILL and restart, with no second copy', async () => {
      const { id, port } = await deploy();
      const pid = await get(port);
      await cluster.killMaster();
      assert.equal(await get(port), pid, 'it keeps serving while the master is down');
      await cluster.startMaster();
      client = await cluster.client();
      const back = await until('the master to know the service again', async () => (await client.services()).find((s) => s.id === id && s.ready));
      assert.equal(back.port, port);
      assert.equal(await get(port), pid, 'the same process, not a second copy');
      assert.equal((await client.status(id)).attempt, 1);
      await client.stopService(id);
    });

    test("a worker's SIGKILL moves its service to another worker", async () => {
      await cluster.startWorker('s2', { slots: 4, args });
      const { id } = await deploy();
      const on = (await client.status(id)).workerId!;
      await cluster.killWorker(on);
      const moved = await until(
        'the service to be ready elsewhere',
        async () => (await client.services()).find((s) => s.id === id && s.ready && s.workerId !== on),
        30_000,
      );
      assert.notEqual(moved.workerId, on);
      assert.ok((await get(moved.port!)) !== undefined);
    });
  });
}
