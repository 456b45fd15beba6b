import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PLACEMENT, normaliseModel, placeInference, scoreAgent, type AgentSnapshot, type PlacementConfig } from './inference-placement.js';

function agent(id: string, over: Partial<AgentSnapshot> = {}): AgentSnapshot {
  return {
    id,
    status: 'healthy',
    models: new Map<string, number | undefined>([['llama3:latest', undefined]]),
    vramTotalMb: 8192,
    vramFreeMb: 4096,
    ramFreeMb: 16_000,
    running: 1,
    maxConcurrency: 4,
    rttMs: 50,
    tokensPerSec: null,
    admitsTrial: true,
    ...over,
  };
}

describe('the inference score', () => {
  test('8192 MB total, 4096 free, 1 of 4 running, 50 ms RTT and no history score 0.655 (the issue example)', () => {
    assert.equal(Number(scoreAgent(agent('a'), DEFAULT_PLACEMENT).toFixed(6)), 0.655);
  });

  const cases: { name: string; over: Partial<AgentSnapshot>; expected: number }[] = [
    { name: 'an idle empty GPU, zero RTT, 100 tokens/s is perfect', over: { vramFreeMb: 8192, running: 0, rttMs: 0, tokensPerSec: 100 }, expected: 1 },
    { name: 'throughput beyond the scale counts as the scale', over: { vramFreeMb: 8192, running: 0, rttMs: 0, tokensPerSec: 500 }, expected: 1 },
    { name: 'an RTT beyond 500 ms scores 0 on latency', over: { rttMs: 900 }, expected: 0.2 + 0.225 + 0 + 0.05 },
    { name: '25 tokens/s of history replaces the 0.5 default', over: { tokensPerSec: 25 }, expected: 0.2 + 0.225 + 0.18 + 0.025 },
    { name: 'a degraded agent scores at half weight', over: { status: 'degraded' }, expected: 0.655 / 2 },
    { name: 'a half-open agent scores in full (its trials are limited instead)', over: { status: 'half-open' }, expected: 0.655 },
    { name: 'a GPU-less agent scores 0 on the VRAM term', over: { vramTotalMb: 0, vramFreeMb: 0 }, expected: 0.225 + 0.18 + 0.05 },
    { name: 'an unmeasured RTT counts as half the latency term', over: { rttMs: null }, expected: 0.2 + 0.225 + 0.1 + 0.05 },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(Number(scoreAgent(agent('a', c.over), DEFAULT_PLACEMENT).toFixed(6)), Number(c.expected.toFixed(6))));
  }

  test('weights and scales come from the configuration', () => {
    const config: PlacementConfig = { ...DEFAULT_PLACEMENT, weights: { vram: 0, load: 0, rtt: 1, performance: 0 }, rttScaleMs: 100 };
    assert.equal(Number(scoreAgent(agent('a', { rttMs: 25 }), config).toFixed(6)), 0.75);
  });
});

describe('inference placement', () => {
  const place = (agents: AgentSnapshot[], model = 'llama3', config = DEFAULT_PLACEMENT) => placeInference(agents, model, config);
  const winner = (agents: AgentSnapshot[], model = 'llama3', config = DEFAULT_PLACEMENT): string => {
    const p = place(agents, model, config);
    assert.ok(p.ok, p.ok ? '' : p.message);
    return p.agentId;
  };

  const table: { name: string; agents: AgentSnapshot[]; expected: string }[] = [
    { name: 'more free VRAM wins, all else equal', agents: [agent('a', { vramFreeMb: 4096 }), agent('b', { vramFreeMb: 6144 })], expected: 'b' },
    { name: 'fewer running requests win, all else equal', agents: [agent('a', { running: 3 }), agent('b', { running: 0 })], expected: 'b' },
    { name: 'lower RTT wins, all else equal', agents: [agent('a', { rttMs: 300 }), agent('b', { rttMs: 20 })], expected: 'b' },
    { name: 'higher throughput wins, all else equal', agents: [agent('a', { tokensPerSec: 20 }), agent('b', { tokensPerSec: 80 })], expected: 'b' },
    // a: 0.4·0.75 + 0.3·0.25 + 0.2·0.9 + 0.05 = 0.605; b: 0.4·0.5 + 0.3·1 + 0.18 + 0.05 = 0.73
    {
      name: 'load outweighs a VRAM lead when the weights say so',
      agents: [agent('a', { vramFreeMb: 6144, running: 3 }), agent('b', { vramFreeMb: 4096, running: 0 })],
      expected: 'b',
    },
    // a: 0.2 + 0.225 + 0.2·(1 − 400/500) + 0.05 = 0.515; b: 0.4·0.25 + 0.225 + 0.2 + 0.05 = 0.575
    {
      name: 'RTT outweighs a VRAM lead when the gap is big enough',
      agents: [agent('a', { rttMs: 400 }), agent('b', { vramFreeMb: 2048 + 4096, vramTotalMb: 8192 * 1, rttMs: 0 })],
      expected: 'b',
    },
    { name: 'ties keep the earlier agent', agents: [agent('a'), agent('b'), agent('c')], expected: 'a' },
    {
      name: 'a healthy agent beats a better degraded one',
      agents: [agent('a', { status: 'degraded', vramFreeMb: 8192, running: 0 }), agent('b')],
      expected: 'b',
    },
    {
      name: 'an offline agent gets no traffic however good',
      agents: [agent('a', { status: 'offline', vramFreeMb: 8192, running: 0 }), agent('b', { running: 3 })],
      expected: 'b',
    },
    {
      name: 'a half-open agent with its trials spent is skipped',
      agents: [agent('a', { status: 'half-open', admitsTrial: false }), agent('b', { status: 'degraded' })],
      expected: 'b',
    },
    {
      name: 'an agent without room for the model (4096 MB by default) is skipped',
      agents: [agent('a', { vramFreeMb: 4095, running: 0 }), agent('b', { running: 3 })],
      expected: 'b',
    },
    { name: 'an agent at its maximum concurrency is skipped', agents: [agent('a', { running: 4, vramFreeMb: 8192 }), agent('b')], expected: 'b' },
    {
      name: 'an agent without the model is skipped',
      agents: [agent('a', { models: new Map([['mistral:latest', undefined]]), vramFreeMb: 8192 }), agent('b')],
      expected: 'b',
    },
    { name: 'a GPU-less agent serves from RAM', agents: [agent('cpu', { vramTotalMb: 0, vramFreeMb: 0, ramFreeMb: 8000 })], expected: 'cpu' },
  ];
  for (const row of table) test(row.name, () => assert.equal(winner(row.agents), row.expected));

  test('the model size an agent reports is its memory need, and the configuration overrides it', () => {
    const big = agent('a', { models: new Map([['llama3:latest', 6000]]), vramFreeMb: 5000 });
    assert.equal(winner([big, agent('b', { running: 3 })]), 'b');
    assert.equal(winner([big, agent('b', { running: 3 })], 'llama3', { ...DEFAULT_PLACEMENT, modelMb: { 'llama3:latest': 1000 } }), 'a');
  });

  test('a model no agent serves is named with the models that exist', () => {
    const p = place([agent('a'), agent('b', { models: new Map([['mistral:7b', undefined]]) })], 'phi3');
    assert.equal(p.ok, false);
    if (p.ok) return;
    assert.equal(p.reason, 'unknown_model');
    assert.deepEqual(p.availableModels, ['llama3:latest', 'mistral:7b']);
    assert.match(p.message, /no agent serves model "phi3:latest" \(available: llama3:latest, mistral:7b\)/);
  });

  test('agents that serve the model but cannot take it now are counted by cause', () => {
    const p = place([agent('a', { status: 'offline' }), agent('b', { running: 4 }), agent('c', { vramFreeMb: 10 })]);
    assert.equal(p.ok, false);
    if (p.ok) return;
    assert.equal(p.reason, 'no_capacity');
    assert.deepEqual(p.excluded, { offline: 1, trials_spent: 0, memory: 1, busy: 1 });
    assert.match(p.message, /3 agent\(s\) serve "llama3:latest" but none can take a request now/);
  });

  test('with no agents at all the answer says none is registered', () => {
    const p = place([]);
    assert.ok(!p.ok && /no inference agent is registered/.test(p.message));
  });

  test('model names without a tag mean :latest', () => {
    assert.equal(normaliseModel('llama3'), 'llama3:latest');
    assert.equal(normaliseModel('llama3:8b'), 'llama3:8b');
    assert.equal(normaliseModel('registry.local:5000/team/llama3'), 'registry.local:5000/team/llama3:latest');
  });
});
