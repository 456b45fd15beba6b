import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { GrpcGuard } from './grpc-auth.js';
import { coordinatorHandlers } from './grpc-coordinator.js';
import type { InferenceHost } from './service.js';

const resources = {
  models: [],
  vram_total_mb: 0,
  vram_free_mb: 0,
  ram_total_mb: 1024,
  ram_free_mb: 512,
  cpu_percent: 1,
  running: 0,
  max_concurrency: 1,
  server_error: '',
};

/** A guard that admits every call, whose `received` ledger row commits only when the test says so. */
function heldGuard() {
  let commit!: () => void;
  let fail!: (err: Error) => void;
  const received = new Promise<void>((resolve, reject) => {
    commit = resolve;
    fail = reject;
  });
  const outcomes: string[] = [];
  const guard: GrpcGuard = () => ({ refused: null, received, outcome: (result) => void outcomes.push(result) });
  return { guard, outcomes, commit: () => commit(), fail: (err: Error) => fail(err) };
}

/** Records the agents the coordinator registers. */
function host(): { host: InferenceHost; registered: string[] } {
  const registered: string[] = [];
  const inference = {
    options: { agentTimeoutMs: 3_000 },
    publicKeyPem: 'PEM',
    registry: { agents: new Map() },
    report: (id: string) => {
      registered.push(id);
      return { id, status: 'healthy' };
    },
  };
  return { host: { inference } as unknown as InferenceHost, registered };
}

function registerAgent(handlers: grpc.UntypedServiceImplementation): Promise<{ error: Partial<grpc.StatusObject> | null; value: unknown }> {
  const call = {
    metadata: new grpc.Metadata(),
    getPeer: () => 'ipv4:127.0.0.1:5000',
    request: { agent_id: 'gpu-1', endpoint: 'http://127.0.0.1:11500', resources },
  };
  return new Promise((resolve) => {
    const register = handlers.RegisterAgent as (call: unknown, callback: grpc.sendUnaryData<unknown>) => void;
    register(call, (error, value) => resolve({ error: error ?? null, value }));
  });
}

test('a gRPC change runs only once its `received` ledger row has committed, then writes its outcome', async () => {
  const ledger = heldGuard();
  const { host: fake, registered } = host();
  const answered = registerAgent(coordinatorHandlers(fake, ledger.guard));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(registered, [], 'nothing registered before the row is durable');
  ledger.commit();
  const { error } = await answered;
  assert.equal(error, null);
  assert.deepEqual(registered, ['gpu-1']);
  assert.deepEqual(ledger.outcomes, ['ok']);
});

test('a gRPC change whose `received` row cannot commit is answered INTERNAL and does nothing', async () => {
  const ledger = heldGuard();
  const { host: fake, registered } = host();
  const answered = registerAgent(coordinatorHandlers(fake, ledger.guard));
  ledger.fail(new Error('the store is fenced'));
  const { error } = await answered;
  assert.equal(error?.code, grpc.status.INTERNAL);
  assert.match(error?.details ?? '', /the store is fenced/);
  assert.deepEqual(registered, []);
});
