/**
 * gRPC gets what TCP and HTTP have: TLS under --tls (a plaintext client gets nothing), the rule
 * that a non-loopback listener needs TLS, and API tokens checked with their roles.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../src/inference/grpc-proto.js';
import { Cluster, MAIN, TOKEN } from './harness.js';

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void;
type UnaryMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => void;

function call(client: grpc.Client, method: string, request: unknown, token: string): Promise<{ value?: unknown; error?: grpc.ServiceError }> {
  const fn = (client as unknown as Record<string, UnaryMethod>)[method];
  if (fn === undefined) throw new Error(`no method ${method}`);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) =>
    fn.call(client, request, metadata, { deadline: Date.now() + 10_000 }, (error, value) => resolve(error !== null ? { error } : { value })),
  );
}

function ensureOpenssl(): void {
  if (spawnSync('openssl', ['version']).status === 0) return;
  spawnSync('apt-get', ['install', '-y', 'openssl'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

describe('gRPC under --tls, with API tokens', () => {
  const cluster = new Cluster();
  const certs = join(cluster.dir, 'certs');
  const clients: grpc.Client[] = [];
  let viewer = '';
  let operator = '';

  const coordinator = (secure: boolean): grpc.Client => {
    const protos = loadProtos();
    const credentials = secure ? grpc.credentials.createSsl(readFileSync(join(certs, 'ca.crt'))) : grpc.credentials.createInsecure();
    const client = new protos.coordinator(`127.0.0.1:${cluster.grpcPort}`, credentials);
    clients.push(client);
    return client;
  };

  before(async () => {
    ensureOpenssl();
    const made = spawnSync(process.execPath, [MAIN, 'certs', 'init', '--dir', certs], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    await cluster.startMaster([
      '--tls',
      '--ca',
      join(certs, 'ca.crt'),
      '--cert',
      join(certs, 'master.crt'),
      '--key',
      join(certs, 'master.key'),
      '--grpc',
      '127.0.0.1:0',
    ]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await cluster.close();
  });

  test('a plaintext client gets no answer from the TLS port; a client that verifies the CA does', async () => {
    const plain = await call(coordinator(false), 'QuerySystemStatus', { include_agents: false }, TOKEN);
    assert.ok(plain.error !== undefined, 'a plaintext call was answered');
    assert.equal(plain.error.code, grpc.status.UNAVAILABLE);
    const secure = await call(coordinator(true), 'QuerySystemStatus', { include_agents: false }, TOKEN);
    assert.equal(secure.error, undefined, secure.error?.details);
  });

  test('API tokens work with their roles: a viewer reads but may not submit an inference request; a bad token is refused', async () => {
    const env = { TITAN_CA: join(certs, 'ca.crt') };
    for (const [name, role] of [
      ['grpc-viewer', 'viewer'],
      ['grpc-operator', 'operator'],
    ] as const) {
      const out = await cluster.cli(['token', 'create', '--role', role, '--name', name, '--json'], env);
      assert.equal(out.code, 0, out.stderr);
      const token = (JSON.parse(out.stdout) as { token: string }).token;
      if (role === 'viewer') viewer = token;
      else operator = token;
    }
    const client = coordinator(true);
    assert.equal((await call(client, 'QuerySystemStatus', { include_agents: false }, viewer)).error, undefined);
    const write = await call(client, 'RequestInference', { model: 'none:1b' }, viewer);
    assert.equal(write.error?.code, grpc.status.PERMISSION_DENIED, write.error?.details);
    assert.match(write.error?.details ?? '', /viewer/);
    // The operator passes the role check and gets the routing answer (no such model here).
    const allowed = await call(client, 'RequestInference', { model: 'none:1b' }, operator);
    assert.equal(allowed.error?.code, grpc.status.NOT_FOUND, allowed.error?.details);
    // An agent registers with the cluster token only, as a worker does.
    const agent = await call(client, 'RegisterAgent', { agent_id: 'a1', endpoint: 'http://127.0.0.1:1', resources: null }, operator);
    assert.equal(agent.error?.code, grpc.status.PERMISSION_DENIED);
    const bad = await call(client, 'QuerySystemStatus', { include_agents: false }, 'titan_000000000000_nope');
    assert.equal(bad.error?.code, grpc.status.UNAUTHENTICATED);
  });
});

test('a master refuses to serve gRPC on a non-loopback address without TLS', () => {
  const out = spawnSync(
    process.execPath,
    [MAIN, 'master', '--listen', '127.0.0.1:0', '--no-http', '--grpc', '0.0.0.0:0', '--data-dir', '/nonexistent/never-made'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.notEqual(out.status, 0);
  assert.match(out.stderr + out.stdout, /refusing to listen on 0\.0\.0\.0 \(--grpc\) without TLS/);
});
