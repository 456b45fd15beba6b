/**
 * gRPC requests that change state leave the same two ledger rows as TCP and HTTP ones: `received`
 * before anything happens, then the outcome (`ok` or `error <code>: …`); refused calls are
 * recorded as refused, and reads leave no row.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../src/inference/grpc-proto.js';
import type { AuditRecordView } from '../src/protocol/security-messages.js';
import { Cluster, until } from './harness.js';

type Callback = (err: grpc.ServiceError | null, value?: unknown) => void;
type UnaryMethod = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => void;
type HealthStream = grpc.ClientDuplexStream<unknown, { status: string }>;

const resources = {
  models: [{ name: 'audited:1b', size_mb: 900 }],
  vram_total_mb: 8192,
  vram_free_mb: 8000,
  ram_total_mb: 16000,
  ram_free_mb: 15000,
  cpu_percent: 5,
  running: 0,
  max_concurrency: 2,
};

function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function call(client: grpc.Client, method: string, request: unknown, token: string): Promise<{ value?: unknown; error?: grpc.ServiceError }> {
  const fn = (client as unknown as Record<string, UnaryMethod>)[method];
  if (fn === undefined) throw new Error(`no method ${method}`);
  return new Promise((resolve) =>
    fn.call(client, request, bearer(token), { deadline: Date.now() + 10_000 }, (error, value) => resolve(error !== null ? { error } : { value })),
  );
}

describe('the audit ledger records gRPC calls', () => {
  const cluster = new Cluster();
  let coordinator: grpc.Client;
  let viewer = '';
  let operator = '';

  /** The ledger rows of one identity and gRPC method, oldest first. */
  const rowsOf = async (who: string, method: string): Promise<AuditRecordView[]> => {
    const records = await (await cluster.client()).security.audit(500);
    return records.filter((r) => r.who === who && r.action === `GRPC ${method}`).reverse();
  };

  before(async () => {
    await cluster.startMaster(['--grpc', '127.0.0.1:0']);
    viewer = await cluster.apiToken('grpc-viewer', 'viewer');
    operator = await cluster.apiToken('grpc-operator', 'operator');
    coordinator = new (loadProtos().coordinator)(`127.0.0.1:${cluster.grpcPort}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    coordinator.close();
    await cluster.close();
  });

  test('a gRPC call that changes state writes its received row and then its outcome row, as TCP and HTTP do', async () => {
    const registered = await call(coordinator, 'RegisterAgent', { agent_id: 'audited-agent', endpoint: 'http://127.0.0.1:1', resources }, cluster.token);
    assert.equal(registered.error, undefined, registered.error?.details);
    const rows = await rowsOf('cluster', 'RegisterAgent');
    assert.deepEqual(
      rows.map((r) => r.result),
      ['received', 'ok'],
    );
    assert.ok(
      rows.every((r) => r.source.startsWith('127.0.0.1')),
      `the caller's address is the source: ${rows.map((r) => r.source).join(', ')}`,
    );
  });

  test('a call the service layer refuses gets an outcome row with the Titan code', async () => {
    const unknown = await call(coordinator, 'RequestInference', { model: 'ghost:1b' }, operator);
    assert.equal(unknown.error?.code, grpc.status.NOT_FOUND, unknown.error?.details);
    const rows = await rowsOf('grpc-operator', 'RequestInference');
    assert.equal(rows.length, 2, JSON.stringify(rows));
    assert.equal(rows[0]!.result, 'received');
    assert.match(rows[1]!.result, /^error E_UNKNOWN_MODEL: /);
  });

  test('a call refused for its role, or for its token, is recorded as refused and never as received', async () => {
    const forbidden = await call(coordinator, 'RequestInference', { model: 'audited:1b' }, viewer);
    assert.equal(forbidden.error?.code, grpc.status.PERMISSION_DENIED);
    const refused = await rowsOf('grpc-viewer', 'RequestInference');
    assert.equal(refused.length, 1, JSON.stringify(refused));
    assert.match(refused[0]!.result, /^denied: /);

    const bad = await call(coordinator, 'RegisterAgent', { agent_id: 'intruder', endpoint: 'http://127.0.0.1:1', resources }, 'titan_000000000000_nope');
    assert.equal(bad.error?.code, grpc.status.UNAUTHENTICATED);
    const anonymous = await rowsOf('anonymous', 'RegisterAgent');
    assert.equal(anonymous.length, 1, JSON.stringify(anonymous));
    assert.match(anonymous[0]!.result, /^denied: bad token/);
  });

  test('a read leaves no row; a ReportHealth stream gets its outcome row at its first answer', async () => {
    const status = await call(coordinator, 'QuerySystemStatus', { include_agents: true }, viewer);
    assert.equal(status.error, undefined, status.error?.details);
    assert.deepEqual(await rowsOf('grpc-viewer', 'QuerySystemStatus'), []);

    const stream = (coordinator as unknown as { ReportHealth(m: grpc.Metadata): HealthStream }).ReportHealth(bearer(cluster.token));
    const answers: string[] = [];
    stream.on('data', (answer: { status: string }) => answers.push(answer.status));
    stream.on('error', () => undefined);
    stream.write({ agent_id: 'audited-agent', resources, outcomes: [] });
    await until('the stream to answer the report', () => Promise.resolve(answers.length >= 1));
    assert.deepEqual(
      (await rowsOf('cluster', 'ReportHealth')).map((r) => r.result),
      ['received', 'ok'],
    );
    stream.end();
  });
});
