import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { Cluster, MAIN, TOKEN } from './harness.js';
import { TitanClient } from '../src/sdk/client.js';
import { loadServerTls } from '../src/security/tls.js';
import { StandbyTcp } from '../src/master/standby/standby-tcp.js';
import { StandbyHttp } from '../src/master/standby/standby-http.js';

/** GET over HTTPS trusting only our CA: the status and the Location header. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    }).once('error', reject);
  });
}

describe('finding the leader over TLS: the standby speaks TLS with the master material', () => {
  const cluster = new Cluster();
  const file = (name: string): string => join(cluster.dir, 'certs', name);
  let standby: StandbyTcp;
  let standbyHttp: StandbyHttp;
  let standbyAddress = '';
  let standbyHttpPort = 0;

  before(async () => {
    // `titan certs init` drives the system openssl (test/e2e-tls.test.ts installs it when missing).
    const made = spawnSync(process.execPath, [MAIN, 'certs', 'init', '--dir', join(cluster.dir, 'certs')], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    await cluster.startMaster(['--tls', '--ca', file('ca.crt'), '--cert', file('master.crt'), '--key', file('master.key')]);
    const material = loadServerTls({ ca: file('ca.crt'), cert: file('master.crt'), key: file('master.key'), mtls: false });
    const leader = () => ({ tcp: `127.0.0.1:${cluster.port}`, http: `127.0.0.1:${cluster.httpPort}`, epoch: 2 });
    standby = new StandbyTcp({ leader, maxFrameSize: 16 * 1024 * 1024, authTimeoutMs: 10_000, tls: material });
    standbyAddress = `127.0.0.1:${await standby.listen('127.0.0.1', 0)}`;
    standbyHttp = new StandbyHttp(leader, material);
    standbyHttpPort = await standbyHttp.listen('127.0.0.1', 0);
  });
  after(async () => {
    await standby.close();
    await standbyHttp.close();
    await cluster.close();
  });

  test('a TLS client given only the standby is refused by it over TLS and follows it to the leader', async () => {
    const client = new TitanClient({ masters: standbyAddress, token: TOKEN, tls: { ca: file('ca.crt') } });
    try {
      assert.equal((await client.stats()).workers.length, 0);
    } finally {
      client.close();
    }
  });

  test("the standby's HTTPS port answers /healthz and redirects to the leader's port as https", async () => {
    const ca = readFileSync(file('ca.crt'));
    assert.equal((await httpsGet(`https://127.0.0.1:${standbyHttpPort}/healthz`, ca)).status, 200);
    const redirected = await httpsGet(`https://127.0.0.1:${standbyHttpPort}/api/v1/jobs`, ca);
    assert.deepEqual(redirected, { status: 307, location: `https://127.0.0.1:${cluster.httpPort}/api/v1/jobs` });
  });
});
