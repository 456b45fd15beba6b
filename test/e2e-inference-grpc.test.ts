import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../src/inference/grpc-proto.js';
import { InferenceCluster } from './inference-harness.js';
import { TOKEN, until } from './harness.js';

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
type UnaryMethod = (request: unknown, metadata: grpc.Metadata, callback: Callback<unknown>) => void;

const authed = (): grpc.Metadata => {
  const m = new grpc.Metadata();
  m.set('authorization', `Bearer ${TOKEN}`);
  return m;
};

/** Calls a unary method; resolves with the answer or the gRPC error (never rejects). */
function unary<T>(client: grpc.Client, method: string, request: unknown, metadata = authed()): Promise<{ value?: T; error?: grpc.ServiceError }> {
  const fn = (client as unknown as Record<string, UnaryMethod>)[method];
  if (fn === undefined) throw new Error(`no method ${method}`);
  return new Promise((resolve) => fn.call(client, request, metadata, (error, value) => resolve(error !== null ? { error } : { value: value as T })));
}

interface Grant {
  agent_id: string;
  endpoint: string;
  model: string;
  token: string;
  generate_url: string;
}
interface AgentLike {
  agent_id: string;
  status: string;
  endpoint: string;
  source: string;
  models: { name: string }[];
}
interface StatusLike {
  status: string;
  models: string[];
  agents: AgentLike[];
  agents_total: number;
}

describe('the gRPC CoordinatorService and the REST API give the same answers', () => {
  const cluster = new InferenceCluster();
  let coordinator: grpc.Client;
  let health: grpc.Client;
  let externalUrl = '';

  before(async () => {
    await cluster.startMaster({ health: { degradeCpuPct: 100, recoverCpuPct: 100, degradeRamFreeMb: 0, recoverRamFreeMb: 0 } });
    const protos = loadProtos();
    coordinator = new protos.coordinator(`127.0.0.1:${cluster.grpcPort}`, grpc.credentials.createInsecure());
    health = new protos.health(`127.0.0.1:${cluster.grpcPort}`, grpc.credentials.createInsecure());
    const ollama = await cluster.startOllama('solo:1b=900');
    externalUrl = (await cluster.startOllama('external:3b=2000')).url;
    await cluster.startAgent('only', { ollama, vramTotalMb: 8192, vramFreeMb: 8000 });
  });
  after(async () => {
    coordinator.close();
    health.close();
    await cluster.close();
  });

  test('grpc.health.v1 answers SERVING for the master and the coordinator, NOT_FOUND for anything else', async () => {
    for (const service of ['', 'titan.inference.v1.CoordinatorService']) {
      const { value } = await unary<{ status: string }>(health, 'Check', { service }, new grpc.Metadata());
      assert.equal(value?.status, 'SERVING');
    }
    const { error } = await unary(health, 'Check', { service: 'nope' }, new grpc.Metadata());
    assert.equal(error?.code, grpc.status.NOT_FOUND);
    const rest = (await (await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/health`)).json()) as { status: string };
    assert.equal(rest.status, 'ok');
  });

  test('calls without the cluster token are refused, except GetPublicKey, which matches REST', async () => {
    const { error } = await unary(coordinator, 'RequestInference', { model: 'solo:1b' }, new grpc.Metadata());
    assert.equal(error?.code, grpc.status.UNAUTHENTICATED);
    const { value } = await unary<{ public_key_pem: string; kid: string; algorithm: string }>(coordinator, 'GetPublicKey', {}, new grpc.Metadata());
    const rest = (await (await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/public-key`)).json()) as {
      public_key_pem: string;
      kid: string;
      algorithm: string;
    };
    assert.deepEqual(value, { ...rest });
  });

  test('RequestInference and POST /api/v1/inference/request route alike, and both tokens work at the agent', async () => {
    const viaGrpc = await unary<Grant>(coordinator, 'RequestInference', { model: 'solo:1b', prompt: 'hi', max_tokens: 4 });
    const viaRest = (await (
      await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ model: 'solo:1b', prompt: 'hi', max_tokens: 4 }) })
    ).json()) as Grant;
    assert.ok(viaGrpc.value !== undefined, viaGrpc.error?.message);
    for (const key of ['agent_id', 'endpoint', 'model', 'generate_url'] as const) assert.equal(viaGrpc.value[key], viaRest[key], key);
    for (const grant of [viaGrpc.value, viaRest]) {
      const res = await fetch(grant.generate_url, {
        method: 'POST',
        headers: { authorization: `Bearer ${grant.token}` },
        body: JSON.stringify({ model: 'solo:1b', prompt: 'same', stream: false }),
      });
      assert.equal(res.status, 200);
    }
  });

  test('an unknown model: NOT_FOUND with the same message and model list as the REST 404', async () => {
    const { error } = await unary(coordinator, 'RequestInference', { model: 'ghost' });
    const rest = (await (await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ model: 'ghost' }) })).json()) as {
      error: string;
      available_models: string[];
    };
    assert.equal(error?.code, grpc.status.NOT_FOUND);
    assert.equal(error.details, rest.error);
    assert.equal(error.metadata.get('available-models')[0], rest.available_models.join(','));
    const invalid = await unary(coordinator, 'RequestInference', { model: '' });
    assert.equal(invalid.error?.code, grpc.status.INVALID_ARGUMENT);
  });

  test('QuerySystemStatus agrees with GET /api/v1/status?include_agents=true', async () => {
    const { value } = await unary<StatusLike>(coordinator, 'QuerySystemStatus', { include_agents: true });
    const rest = (await (await cluster.rest('/api/v1/status?include_agents=true')).json()) as StatusLike;
    assert.ok(value !== undefined);
    assert.equal(value.status, rest.status);
    assert.deepEqual(value.models, rest.models);
    assert.equal(value.agents_total, rest.agents_total);
    const pick = (agents: AgentLike[]): unknown[] => agents.map((a) => [a.agent_id, a.status, a.endpoint, a.source, a.models.map((m) => m.name)]);
    assert.deepEqual(pick(value.agents), pick(rest.agents));
  });

  test('an agent registered over gRPC is routed to, reports outcomes on its ReportHealth stream, and leaves when the stream ends', async () => {
    const resources = {
      models: [{ name: 'external:3b', size_mb: 2000 }],
      vram_total_mb: 8192,
      vram_free_mb: 8000,
      ram_total_mb: 32000,
      ram_free_mb: 30000,
      cpu_percent: 5,
      running: 0,
      max_concurrency: 2,
    };
    const registered = await unary<{ ok: boolean; status: string; public_key_pem: string }>(coordinator, 'RegisterAgent', {
      agent_id: 'ext-1',
      endpoint: externalUrl,
      resources,
    });
    assert.equal(registered.value?.ok, true, registered.error?.message);
    assert.match(registered.value.public_key_pem, /BEGIN PUBLIC KEY/);
    const rejected = await unary(coordinator, 'RegisterAgent', { agent_id: 'ext-2', endpoint: 'not a url', resources });
    assert.equal(rejected.error?.code, grpc.status.INVALID_ARGUMENT);
    const grant = (await (await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ model: 'external:3b' }) })).json()) as Grant;
    assert.equal(grant.agent_id, 'ext-1');
    assert.equal(grant.endpoint, externalUrl);

    const stream = (coordinator as unknown as { ReportHealth(m: grpc.Metadata): grpc.ClientDuplexStream<unknown, { status: string }> }).ReportHealth(authed());
    const states: string[] = [];
    stream.on('data', (s: { status: string }) => states.push(s.status));
    stream.on('error', () => undefined);
    const failure = { model: 'external:3b', outcome: 'failure', tokens: 0, eval_ms: 0, duration_ms: 10, error: 'boom' };
    stream.write({ agent_id: 'ext-1', resources, outcomes: [{ ...failure, jti: '' }] });
    stream.write({ agent_id: 'ext-1', outcomes: [failure, failure] });
    await until('two answers on the stream', () => Promise.resolve(states.length >= 2));
    assert.deepEqual(states, ['healthy', 'offline']);
    const offline = (await cluster.agents()).find((a) => a.agent_id === 'ext-1');
    assert.equal(offline?.status, 'offline');
    stream.end();
    await until('ext-1 to leave the pool', async () => (await cluster.agents()).every((a) => a.agent_id !== 'ext-1'));
  });
});
