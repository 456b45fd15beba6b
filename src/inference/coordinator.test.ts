import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../common/log.js';
import type { InferenceAgentReport } from '../protocol/inference-messages.js';
import { DEFAULT_INFERENCE, resolveInferenceOptions } from './config.js';
import { InferenceCoordinator } from './coordinator.js';
import { parseNvidiaSmi, AgentProbe } from './agent-probe.js';
import { FakeOllama } from '../../test/ollama/server.js';

const report = (over: Partial<InferenceAgentReport> = {}): InferenceAgentReport => ({
  gatewayPort: 11500,
  models: [{ name: 'llama3:8b', sizeMb: 1000 }],
  vramTotalMb: 8192,
  vramFreeMb: 8192,
  ramTotalMb: 32000,
  ramFreeMb: 16000,
  cpuPercent: 10,
  running: 0,
  maxConcurrency: 2,
  ...over,
});

describe('the inference coordinator', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-coord-'));
  const coordinator = new InferenceCoordinator({ ...DEFAULT_INFERENCE, tokenTtlSeconds: 10 }, createLogger('test', 'silent'));
  before(() => coordinator.start(dir));
  after(() => {
    coordinator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a routed request holds a slot on its agent until its outcome or its token expiry', async () => {
    const t = 1_000_000_000;
    coordinator.report('a', 'worker', 'http://a:1', report(), t);
    const first = await coordinator.route('llama3:8b', 'c', t);
    const second = await coordinator.route('llama3:8b', 'c', t);
    assert.ok(first.ok && second.ok);
    const third = await coordinator.route('llama3:8b', 'c', t);
    assert.equal(third.ok, false, 'two reservations fill an agent of max concurrency 2');
    if (third.ok) return;
    assert.equal(third.reason, 'no_capacity');
    coordinator.outcome('a', { jti: first.jti, model: 'llama3:8b', outcome: 'success', tokens: 50, evalMs: 1000, durationMs: 1100 }, t + 1);
    assert.equal((await coordinator.route('llama3:8b', 'c', t + 2)).ok, true, 'the outcome freed a slot');
    assert.equal((await coordinator.route('llama3:8b', 'c', t + 3)).ok, false);
    assert.equal((await coordinator.route('llama3:8b', 'c', t + 10_001)).ok, true, 'expired tokens free their slots');
  });

  test('throughput is a moving average of the completions (alpha 0.3)', () => {
    const agent = coordinator.registry.agents.get('a');
    assert.equal(agent?.tokensPerSec, 50);
    coordinator.outcome('a', { model: 'llama3:8b', outcome: 'success', tokens: 100, evalMs: 1000, durationMs: 1000 }, 1);
    assert.equal(Number(agent.tokensPerSec?.toFixed(6)), 65);
  });

  test('a lost agent is removed with its reservations', () => {
    coordinator.remove('a', 'test');
    assert.equal(coordinator.registry.agents.size, 0);
  });
});

describe('inference settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'titan-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (body: unknown): string => {
    const path = join(dir, `c${Math.random()}.json`);
    writeFileSync(path, JSON.stringify(body));
    return path;
  };

  test('a config file overrides weights, scales and thresholds; TOKEN_TTL the token lifetime', () => {
    const o = resolveInferenceOptions(file({ weights: { rtt: 0.5 }, rttScaleMs: 100, modelMb: { llama3: 5000 }, health: { failuresToOpen: 5 } }), {
      TOKEN_TTL: '60',
    });
    assert.deepEqual(o.placement.weights, { vram: 0.4, load: 0.3, rtt: 0.5, performance: 0.1 });
    assert.equal(o.placement.rttScaleMs, 100);
    assert.deepEqual(o.placement.modelMb, { 'llama3:latest': 5000 });
    assert.equal(o.health.failuresToOpen, 5);
    assert.equal(o.health.openMs, 30_000);
    assert.equal(o.tokenTtlSeconds, 60);
    assert.equal(resolveInferenceOptions(undefined, {}).tokenTtlSeconds, 300);
  });

  test('bad settings are refused with the key and the fix named', () => {
    assert.throws(() => resolveInferenceOptions(file({ wieghts: {} }), {}), /Unrecognized key.*wieghts.*docs\/INFERENCE\.md/);
    assert.throws(() => resolveInferenceOptions(file({ health: { openMs: -1 } }), {}), /health\.openMs/);
    assert.throws(() => resolveInferenceOptions(undefined, { TOKEN_TTL: 'soon' }), /TOKEN_TTL=soon: give whole seconds/);
    assert.throws(() => resolveInferenceOptions(join(dir, 'missing.json'), {}), /--inference-config .*missing\.json/);
  });
});

describe('the agent probe', () => {
  test('sums nvidia-smi memory over every GPU', () => {
    assert.deepEqual(parseNvidiaSmi('24576, 20000\n24576, 1000\n'), { totalMb: 49152, freeMb: 21000 });
    assert.deepEqual(parseNvidiaSmi(''), { totalMb: 0, freeMb: 0 });
  });

  test('reads models from /api/tags, and says so when the server is down', async () => {
    const server = new FakeOllama({ models: [{ name: 'phi3:mini', size: 2 * 1048576 * 1024 }] });
    const port = await server.start(0);
    const probe = new AgentProbe({ serverUrl: `http://127.0.0.1:${port}`, vramTotalMb: 8192, vramFreeMb: 3000 });
    await probe.refresh();
    assert.deepEqual(probe.reading.models, [{ name: 'phi3:mini', sizeMb: 2048 }]);
    assert.equal(probe.reading.serverError, undefined);
    assert.deepEqual([probe.reading.vramTotalMb, probe.reading.vramFreeMb], [8192, 3000]);
    await server.close();
    await probe.refresh();
    assert.deepEqual(probe.reading.models, []);
    assert.match(probe.reading.serverError ?? '', /GET http:\/\/127\.0\.0\.1:\d+\/api\/tags failed/);
  });
});
