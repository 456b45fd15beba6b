import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { TitanClient } from '../src/sdk/client.js';
import { connectPeer } from '../src/sdk/connect.js';
import { fileURLToPath } from 'node:url';
import { Cluster, MAIN, TOKEN, codeOf, killAndWait, until } from './harness.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** The system openssl is what `titan certs` drives; install it the way bench/redis.ts installs redis. */
function ensureOpenssl(): void {
  if (spawnSync('openssl', ['version']).status === 0) return;
  spawnSync('apt-get', ['install', '-y', 'openssl'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (spawnSync('openssl', ['version']).status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    spawnSync('apt-get', ['install', '-y', 'openssl'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

/** GET over HTTPS with our CA (and a client certificate when given); resolves with the status, or rejects when the handshake fails. */
function httpsGet(port: number, path: string, ca: Buffer, client?: { cert: Buffer; key: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, ...(client ?? {}), headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('TLS and mTLS', () => {
  const cluster = new Cluster();
  const certs = join(cluster.dir, 'certs');
  const file = (name: string): string => join(certs, name);
  const clients: TitanClient[] = [];
  const workers: ChildProcess[] = [];

  before(async () => {
    ensureOpenssl();
    const made = spawnSync(process.execPath, [MAIN, 'certs', 'init', '--dir', certs, '--host', 'titan.example'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const w of workers) await killAndWait(w, 'SIGKILL');
    await cluster.close();
  });

  test('certs init makes a CA and master, worker and client certificates it signed, keys readable by the owner only', () => {
    const ca = new X509Certificate(readFileSync(file('ca.crt')));
    assert.ok(ca.ca);
    for (const [name, unit] of [
      ['master', 'titan-master'],
      ['worker', 'titan-worker'],
      ['client', 'titan-client'],
    ] as const) {
      const cert = new X509Certificate(readFileSync(file(`${name}.crt`)));
      assert.ok(cert.verify(ca.publicKey), `${name} is signed by the CA`);
      assert.match(cert.subject, new RegExp(`CN=${name}`));
      assert.match(cert.subject, new RegExp(`OU=${unit}`));
      assert.equal(statSync(file(`${name}.key`)).mode & 0o777, 0o600);
    }
    const master = new X509Certificate(readFileSync(file('master.crt')));
    assert.match(master.subjectAltName ?? '', /DNS:localhost.*IP Address:127\.0\.0\.1.*DNS:titan\.example/);
    const again = spawnSync(process.execPath, [MAIN, 'certs', 'init', '--dir', certs], { encoding: 'utf8' });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already holds a CA/);
  });

  test('with --mtls: a client with a CA-signed certificate is served over TCP and HTTPS; one without a certificate is refused', async () => {
    await cluster.startMaster(['--mtls', '--ca', file('ca.crt'), '--cert', file('master.crt'), '--key', file('master.key')]);
    const tls = { ca: file('ca.crt'), cert: file('client.crt'), key: file('client.key') };
    const client = await TitanClient.connect({ host: '127.0.0.1', port: cluster.port, token: TOKEN, tls });
    clients.push(client);
    assert.equal((await client.security.whoami()).role, 'admin');

    const noCert = connectPeer({ host: '127.0.0.1', port: cluster.port, token: TOKEN, role: 'client', tls: { ca: file('ca.crt') } });
    await assert.rejects(noCert, /certificate required|ECONNRESET|closed|socket hang up/, 'no client certificate, no connection');
    const plain = connectPeer({ host: '127.0.0.1', port: cluster.port, token: TOKEN, role: 'client', connectTimeoutMs: 2000 });
    assert.notEqual(await codeOf(plain), 'resolved', 'plain TCP to a TLS port is refused');

    const ca = readFileSync(file('ca.crt'));
    assert.equal(
      await httpsGet(cluster.httpPort, '/api/v1/whoami', ca, { cert: readFileSync(file('client.crt')), key: readFileSync(file('client.key')) }),
      200,
    );
    await assert.rejects(httpsGet(cluster.httpPort, '/api/v1/whoami', ca), 'HTTPS without a client certificate is refused');

    const cli = await cluster.cli(['whoami', '--ca', file('ca.crt'), '--cert', file('client.crt'), '--key', file('client.key')]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /cluster \(cluster\) role admin/);
  });

  test('under mTLS a worker is its certificate: it registers as the CN and runs jobs; a client certificate cannot be a worker', async () => {
    const worker = spawn(
      process.execPath,
      [
        MAIN,
        'worker',
        '--master',
        `127.0.0.1:${cluster.port}`,
        '--token',
        TOKEN,
        '--work-dir',
        join(cluster.dir, 'w'),
        '--ca',
        file('ca.crt'),
        '--cert',
        file('worker.crt'),
        '--key',
        file('worker.key'),
      ],
      {
        stdio: 'ignore',
        env: { ...process.env, TITAN_HOME: cluster.dir, TITAN_LOG_LEVEL: 'warn', PYTHONPATH: join(REPO, 'sdk-python') },
      },
    );
    workers.push(worker);
    const client = clients[0]!;
    await until('the worker named by its certificate', async () => (await client.stats()).workers.some((w) => w.id === 'worker' && w.health === 'healthy'));
    const { jobId } = await client.submit({ command: 'echo over-tls' });
    assert.equal((await client.wait(jobId, 15_000)).state, 'succeeded');
    // A job inherits its worker's TLS settings, so the SDKs inside it reach the master with no configuration.
    // Jobs get a clean environment, so the (uninstalled) SDK's path is given as the job's own env. A root worker runs
    // jobs as its job user, who may not enter the folder this repository was cloned into, so the SDK is copied out.
    const sdk = cluster.sharedFolder('sdk-python');
    cpSync(join(REPO, 'sdk-python', 'titan_sdk'), join(sdk, 'titan_sdk'), { recursive: true });
    const py = await client.submit({
      command: `python3 -c "from titan_sdk import TitanClient; TitanClient().store_put('from-python', 'over mTLS')"`,
      env: { PYTHONPATH: sdk },
    });
    const pyEnd = await client.wait(py.jobId, 20_000);
    assert.equal(pyEnd.state, 'succeeded', `the Python job failed: ${(await client.logs(py.jobId)).map((l) => l.line).join('\n')}`);
    assert.equal(await client.kv.get('from-python'), 'over mTLS');

    const impostor = connectPeer({
      host: '127.0.0.1',
      port: cluster.port,
      token: TOKEN,
      role: 'worker',
      tls: { ca: file('ca.crt'), cert: file('client.crt'), key: file('client.key') },
    });
    assert.equal(await codeOf(impostor), 'E_FORBIDDEN');
  });
});

describe('TLS without mTLS', () => {
  const cluster = new Cluster();
  const certs = join(cluster.dir, 'certs');
  const file = (name: string): string => join(certs, name);
  after(() => cluster.close());

  test('a client with only the CA is served; one that does not trust the CA fails the handshake naming the cause', async () => {
    ensureOpenssl();
    assert.equal(spawnSync(process.execPath, [MAIN, 'certs', 'init', '--dir', certs], { encoding: 'utf8' }).status, 0);
    await cluster.startMaster(['--tls', '--ca', file('ca.crt'), '--cert', file('master.crt'), '--key', file('master.key')]);
    const client = await TitanClient.connect({ host: '127.0.0.1', port: cluster.port, token: TOKEN, tls: { ca: file('ca.crt') } });
    assert.equal((await client.stats()).workers.length, 0);
    client.close();
    const cli = await cluster.cli(['stats', '--tls'], { TITAN_HOME: cluster.dir, TITAN_CA: file('ca.crt') });
    assert.equal(cli.code, 0, cli.stderr);
    const untrusting = connectPeer({ host: '127.0.0.1', port: cluster.port, token: TOKEN, role: 'client', tls: { ca: file('client.crt') } });
    await assert.rejects(untrusting, /certificate|signature|issuer/i);
    assert.equal(await httpsGet(cluster.httpPort, '/readyz', readFileSync(file('ca.crt'))), 200);
  });
});

describe('listening beyond loopback', () => {
  test('the master refuses a non-loopback address without TLS or --insecure, naming both fixes', () => {
    const out = spawnSync(process.execPath, [MAIN, 'master', '--listen', '0.0.0.0:0', '--no-http', '--token', TOKEN], {
      encoding: 'utf8',
      env: { ...process.env, TITAN_HOME: '/nonexistent-titan-home' },
    });
    assert.equal(out.status, 2);
    assert.match(out.stderr, /refusing to listen on 0\.0\.0\.0 \(--listen\) without TLS/);
    assert.match(out.stderr, /--tls/);
    assert.match(out.stderr, /--insecure/);
    const http = spawnSync(process.execPath, [MAIN, 'master', '--listen', '127.0.0.1:0', '--http', '0.0.0.0:0', '--token', TOKEN], {
      encoding: 'utf8',
      env: { ...process.env, TITAN_HOME: '/nonexistent-titan-home' },
    });
    assert.equal(http.status, 2);
    assert.match(http.stderr, /refusing to listen on 0\.0\.0\.0 \(--http\)/);
  });
});
