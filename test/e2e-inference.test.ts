import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InferenceCluster, type AgentStatusView, type OllamaHandle } from './inference-harness.js';
import { until } from './harness.js';

interface Grant {
  agent_id: string;
  endpoint: string;
  model: string;
  score: number;
  token: string;
  generate_url: string;
  expires_at: string;
}

/**
 * Thresholds that a busy CI machine cannot trip by itself (its CPU and RAM are not the agents' GPUs),
 * and a small RTT weight, so loopback RTT jitter on a loaded machine cannot swing the VRAM and
 * load cases, while a 500 ms link still loses the RTT case.
 */
const CONFIG = {
  weights: { rtt: 0.05 },
  health: { degradeCpuPct: 100, recoverCpuPct: 100, degradeRamFreeMb: 0, recoverRamFreeMb: 0, openMs: 5_000, halfOpenMs: 15_000 },
};

describe('inference routing across agents (real master, workers and Ollama-compatible servers)', () => {
  const cluster = new InferenceCluster();
  let vramModel: OllamaHandle;
  let flaky: OllamaHandle;
  let steady: OllamaHandle;

  const route = async (model: string): Promise<Grant> => {
    const res = await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ model, prompt: 'hello', max_tokens: 8 }) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as Grant;
  };
  const agent = async (id: string): Promise<AgentStatusView | undefined> => (await cluster.agents()).find((a) => a.agent_id === id);
  const generate = (grant: Grant, prompt = 'hello world'): Promise<Response> =>
    fetch(grant.generate_url, {
      method: 'POST',
      headers: { authorization: `Bearer ${grant.token}` },
      body: JSON.stringify({ model: grant.model, prompt, stream: false }),
    });

  before(async () => {
    await cluster.startMaster(CONFIG, { TOKEN_TTL: '6' });
    vramModel = await cluster.startOllama('big:7b=4700,small:1b=900');
    flaky = await cluster.startOllama('flaky:7b=4000');
    steady = await cluster.startOllama('flaky:7b=4000,steady:1b=900');
  });
  after(() => cluster.close());

  test('the agent with more free VRAM wins; one without room for the model is never chosen', async () => {
    await cluster.startAgent('roomy', { ollama: vramModel, vramTotalMb: 16_384, vramFreeMb: 15_000 });
    await cluster.startAgent('tight', { ollama: vramModel, vramTotalMb: 16_384, vramFreeMb: 7_300 });
    await cluster.startAgent('full', { ollama: vramModel, vramTotalMb: 16_384, vramFreeMb: 4_000 });
    const first = await route('big:7b');
    assert.equal(first.agent_id, 'roomy');
    // roomy 0.4·15000/16384 + 0.3·(1 − n/4) = 0.59 (n=1), 0.52 (n=2); tight 0.4·7300/16384 + 0.3 = 0.48.
    assert.equal((await route('big:7b')).agent_id, 'roomy');
    // A model of 900 MB fits everywhere: still the most free VRAM first.
    assert.equal((await route('small:1b')).agent_id, 'roomy');
    const agents = await cluster.agents();
    assert.equal(agents.find((a) => a.agent_id === 'full')?.requests.routed, 0);
  });

  test('load spreads: requests in flight count against their agent until their outcome comes back', async () => {
    // roomy holds 3 routed requests (2 big, 1 small) with none reported back: 0.37 + 0.3·0.25 = 0.44 < tight's 0.48.
    const next = await route('big:7b');
    assert.equal(next.agent_id, 'tight');
    // Using a grant releases its reservation: the outcome report frees roomy's slot.
    const res = await generate(next);
    assert.equal(res.status, 200);
    assert.match(((await res.json()) as { response: string }).response, /^Echo: hello world/);
    await until('tight to have its success counted', async () => (await cluster.agents()).find((a) => a.agent_id === 'tight')?.requests.success === 1);
  });

  test('RTT counts: of two equal agents the one behind a 500 ms link loses', async () => {
    // 250 ms each way: every PING through the relay takes at least 500 ms, the scale at which the RTT term is 0.
    const far = await cluster.delayingRelay(250);
    const ollama = await cluster.startOllama('rtt:7b=1000');
    await cluster.startAgent('far', { ollama, vramTotalMb: 8192, vramFreeMb: 8192, masterPort: far });
    await cluster.startAgent('near', { ollama, vramTotalMb: 8192, vramFreeMb: 8192 });
    const agents = await cluster.agents();
    const rtt = (id: string): number => agents.find((a) => a.agent_id === id)?.rtt_ms ?? NaN;
    assert.ok(rtt('far') >= 500, `far RTT ${rtt('far')} ms`);
    assert.ok(rtt('near') < rtt('far'), `near RTT ${rtt('near')} ms`);
    const grant = await route('rtt:7b');
    assert.equal(grant.agent_id, 'near');
  });

  test('a model nobody serves is refused with the models that exist', async () => {
    const res = await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ model: 'gpt-9' }) });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { code: string; error: string; available_models: string[] };
    assert.equal(body.code, 'E_UNKNOWN_MODEL');
    assert.match(body.error, /no agent serves model "gpt-9:latest"/);
    assert.ok(body.available_models.includes('big:7b') && body.available_models.includes('rtt:7b'), body.available_models.join(','));
    const bad = await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ prompt: 'no model' }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /model/);
  });

  test('a failing agent trips its breaker, traffic moves to the other, and it comes back after trial successes', async () => {
    await cluster.startAgent('shaky', { ollama: flaky, vramTotalMb: 24_576, vramFreeMb: 24_000 });
    await cluster.startAgent('solid', { ollama: steady, vramTotalMb: 8192, vramFreeMb: 4500 });
    await flaky.control({ failMode: 'error' });
    for (let i = 0; i < 3; i += 1) {
      const grant = await route('flaky:7b');
      assert.equal(grant.agent_id, 'shaky', `request ${i + 1} goes to the roomier agent while its breaker is closed`);
      assert.equal((await generate(grant)).status, 500);
      await until(`failure ${i + 1} to reach the master`, async () => (await agent('shaky'))?.requests.failure === i + 1);
    }
    const shaky = await until('shaky to go offline', async () => {
      const a = (await cluster.agents()).find((x) => x.agent_id === 'shaky');
      return a?.status === 'offline' ? a : undefined;
    });
    assert.equal(shaky.requests.failure, 3);
    const moved = await route('flaky:7b');
    assert.equal(moved.agent_id, 'solid');
    assert.equal((await generate(moved)).status, 200);
    await flaky.control({ failMode: 'none' });
    await until('shaky to turn half-open', async () => (await cluster.agents()).find((x) => x.agent_id === 'shaky')?.status === 'half-open');
    for (let i = 0; i < 2; i += 1) {
      const trial = await route('flaky:7b');
      assert.equal(trial.agent_id, 'shaky', 'a half-open agent gets trial requests');
      assert.equal((await generate(trial)).status, 200);
      await until(`trial ${i + 1} to reach the master`, async () => (await agent('shaky'))?.requests.success === i + 1);
    }
    await until('shaky to close its breaker', async () => (await cluster.agents()).find((x) => x.agent_id === 'shaky')?.status === 'healthy');
    const status = (await (await cluster.rest('/api/v1/status')).json()) as {
      recent_transitions: { agent_id: string; from: string; to: string }[];
      metrics: { transitions_total: Record<string, number> };
    };
    const path = status.recent_transitions.filter((t) => t.agent_id === 'shaky').map((t) => `${t.from}>${t.to}`);
    assert.deepEqual(path, ['healthy>offline', 'offline>half-open', 'half-open>healthy']);
    assert.ok((status.metrics.transitions_total.offline ?? 0) >= 1);
    const prometheus = await (await cluster.rest('/api/v1/inference/metrics')).text();
    assert.match(prometheus, /^titan_inference_transitions_total\{to="offline"\} [1-9]/m);
    assert.match(prometheus, /^titan_inference_agent_requests_failure_total\{agent="shaky"\} 3$/m);
    assert.match(prometheus, /^titan_inference_agent_up\{agent="shaky"\} 1$/m);
  });

  test("tokens: one agent's token is refused by another, and every token expires (TOKEN_TTL=6)", async () => {
    const grant = await route('steady:1b');
    assert.equal(grant.agent_id, 'solid');
    const other = (await cluster.agents()).find((a) => a.agent_id === 'roomy');
    assert.ok(other !== undefined);
    const wrong = await fetch(`${other.endpoint}/api/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${grant.token}` },
      body: JSON.stringify({ model: 'steady:1b', prompt: 'x' }),
    });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { code: string }).code, 'E_TOKEN_WRONG_AUDIENCE');
    assert.ok(Date.parse(grant.expires_at) - Date.now() <= 6_000);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(grant.expires_at) - Date.now()) + 1_100));
    const late = await generate(grant);
    assert.equal(late.status, 401);
    assert.equal(((await late.json()) as { code: string }).code, 'E_TOKEN_EXPIRED');
  });

  test('titan infer routes and streams the answer in one command', async () => {
    const out = await cluster.cli(['infer', 'steady:1b', 'tell me about the sea']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, 'Echo: tell me about the sea\n');
    const chat = await cluster.cli(['infer', 'steady:1b', 'hi there', '--chat', '--json']);
    assert.equal(chat.code, 0, chat.stderr);
    const answer = JSON.parse(chat.stdout) as { agent_id: string; response: string; tokens: number; done: boolean };
    assert.deepEqual([answer.agent_id, answer.response, answer.tokens, answer.done], ['solid', 'Echo: hi there', 3, true]);
    const agents = await cluster.cli(['agents']);
    assert.equal(agents.code, 0, agents.stderr);
    assert.match(agents.stdout, /^AGENT\s+STATUS\s+MODELS/);
    assert.match(agents.stdout, /\nsolid\s+healthy\s+flaky:7b,steady:1b\s+4500\/8192/);
    const missing = await cluster.cli(['infer', 'nothing:1b', 'x']);
    assert.equal(missing.code, 4, 'no such model is not found (4), apart from no capacity (7)');
    assert.match(missing.stderr, /no agent serves model "nothing:1b" \(available: .*steady:1b/);
  });

  test('health and public key are public; status needs the token', async () => {
    const health = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const key = await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/public-key`);
    assert.match(((await key.json()) as { public_key_pem: string }).public_key_pem, /BEGIN PUBLIC KEY/);
    assert.equal((await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/status`)).status, 401);
    assert.equal((await fetch(`http://127.0.0.1:${cluster.httpPort}/api/v1/inference/request`, { method: 'POST' })).status, 401);
  });
});
