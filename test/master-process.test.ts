import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { composeMaster } from '../src/cli/master-process.js';
import { silentLogger } from '../src/common/log.js';
import { MASTER_DEFAULTS } from '../src/master/options.js';
import { TitanClient } from '../src/sdk/client.js';

/** The composition root: the one way a master process is put together (docs/ARCHITECTURE.md, "Wiring"). */
describe('a master process from composeMaster', () => {
  const options = (dataDir: string) => ({
    ...MASTER_DEFAULTS,
    host: '127.0.0.1',
    port: 0,
    dataDir,
    token: 'compose-test-token',
    http: { host: '127.0.0.1', port: 0 },
  });

  test('is not ready until started, then serves TCP and HTTP; closing frees the data dir for the next one', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'titan-compose-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, 'master');
    const first = composeMaster(options(dir), silentLogger());
    const before = await first.http!.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(before.statusCode, 503);
    const port = await first.start();
    try {
      const ready = await fetch(`http://127.0.0.1:${first.httpPort}/readyz`);
      assert.deepEqual(await ready.json(), { ready: true, workers: 0 });
      const client = await TitanClient.connect({ host: '127.0.0.1', port, token: 'compose-test-token' });
      try {
        const { jobId } = await client.submit({ command: 'echo composed' });
        assert.equal((await client.status(jobId)).state, 'queued');
      } finally {
        client.close();
      }
    } finally {
      await first.close();
    }
    // The data dir lock went with the first process: a second one on the same dir starts and sees the job.
    const second = composeMaster(options(dir), silentLogger());
    try {
      await second.start();
      const jobs = (await (
        await fetch(`http://127.0.0.1:${second.httpPort}/api/v1/jobs`, { headers: { authorization: 'Bearer compose-test-token' } })
      ).json()) as { jobs: unknown[] };
      assert.equal(jobs.jobs.length, 1);
    } finally {
      await second.close();
    }
  });

  test('refuses settings it cannot serve safely before it writes anything to the data dir', () => {
    const root = mkdtempSync(join(tmpdir(), 'titan-compose-'));
    try {
      const dir = join(root, 'master');
      assert.throws(() => composeMaster({ ...options(dir), host: '0.0.0.0' }, silentLogger()), /--insecure|TLS|--tls/);
      assert.throws(
        () => composeMaster({ ...options(dir), host: '0.0.0.0', insecure: true, allowLegacyUnauthenticated: true }, silentLogger()),
        /--allow-legacy-unauthenticated/,
      );
      assert.equal(existsSync(dir), false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
