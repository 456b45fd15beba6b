/**
 * Inference routing figures (issue 8):
 * - inference_route_us_p50: one routing decision (filter + weighted score over every agent, plus
 *   the reservation) with 1,000 registered agents, in the master's own coordinator, no I/O;
 * - inference_proxy_overhead_ms_p50: a non-streamed /api/generate through a worker's gateway
 *   (token check + proxy) minus the same request sent straight to the Ollama-compatible test
 *   server, interleaved, with a real master, worker and test server as processes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/common/log.js';
import { DEFAULT_INFERENCE } from '../src/inference/config.js';
import { InferenceCoordinator } from '../src/inference/coordinator.js';
import { InferenceCluster } from '../test/inference-harness.js';
import { Deadline, now, percentile, round } from './measure.js';

export interface RouteFigures {
  routeUsP50: number;
  routeUsP99: number;
  /** Routing plus signing the RS256 token, what a client waits for in all. */
  routeWithTokenUsP50: number;
  agents: number;
  decisions: number;
}

const MODELS = ['llama3:8b', 'llama3:70b', 'mistral:7b', 'phi3:mini', 'qwen2:7b', 'gemma:2b', 'codellama:13b', 'mixtral:8x7b'];

export async function inferenceRouteLatency(agents: number, decisions: number, limitMs: number): Promise<RouteFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'titan-bench-route-'));
  const coordinator = new InferenceCoordinator(DEFAULT_INFERENCE, createLogger('bench', 'silent'));
  try {
    await coordinator.start(dir);
    coordinator.close(); // no ticker: nothing else runs during the measurement
    const t = 1_000_000;
    for (let i = 0; i < agents; i += 1) {
      // Deterministic spread: every agent serves 3 of the 8 models, with varied VRAM, load and RTT.
      const models = [0, 1, 2].map((k) => ({ name: MODELS[(i + k * 3) % MODELS.length] ?? 'llama3:8b', sizeMb: 2000 + ((i * 7 + k) % 5) * 1000 }));
      const total = [8192, 16384, 24576, 81920][i % 4] ?? 8192;
      coordinator.report(
        `agent-${i}`,
        'worker',
        `http://10.0.${Math.floor(i / 250)}.${i % 250}:11500`,
        {
          gatewayPort: 11500,
          models,
          vramTotalMb: total,
          vramFreeMb: total * (0.2 + ((i * 37) % 80) / 100),
          ramTotalMb: 65536,
          ramFreeMb: 32768,
          cpuPercent: (i * 13) % 60,
          running: i % 3,
          maxConcurrency: 4,
        },
        t,
      );
      coordinator.rtt(`agent-${i}`, 1 + ((i * 17) % 200));
    }
    const samples: number[] = [];
    const deadline = new Deadline('inference route latency', limitMs);
    for (let i = 0; i < decisions; i += 1) {
      if (i % 1000 === 0) deadline.check();
      const model = MODELS[i % MODELS.length] ?? 'llama3:8b';
      const t0 = now();
      const { agent } = coordinator.place(model, t);
      samples.push((now() - t0) * 1000);
      // The request completes: its reservation goes, so the pool stays in the same shape.
      if (agent !== null) coordinator.registry.released(agent);
    }
    const signed: number[] = [];
    for (let i = 0; i < 300; i += 1) {
      const t0 = now();
      const grant = await coordinator.route(MODELS[i % MODELS.length] ?? 'llama3:8b', 'bench', t);
      signed.push((now() - t0) * 1000);
      if (grant.ok) coordinator.outcome(grant.agentId, { jti: grant.jti, model: grant.model, outcome: 'client_error', tokens: 0, evalMs: 0, durationMs: 0 }, t);
    }
    const warm = samples.slice(Math.floor(samples.length / 10));
    return {
      routeUsP50: round(percentile(warm, 50), 2),
      routeUsP99: round(percentile(warm, 99), 2),
      routeWithTokenUsP50: round(percentile(signed.slice(30), 50), 1),
      agents,
      decisions,
    };
  } finally {
    coordinator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ProxyFigures {
  /** The same request through a bare Node proxy process: the cost of one hop, the floor. */
  bareHopMsP50: number;
  directMsP50: number;
  gatewayMsP50: number;
  overheadMsP50: number;
  overheadMsP99: number;
  requests: number;
}

export async function inferenceProxyOverhead(requests: number, warmup: number, limitMs: number): Promise<ProxyFigures> {
  const cluster = new InferenceCluster();
  try {
    await cluster.startMaster({ health: { degradeCpuPct: 100, recoverCpuPct: 100, degradeRamFreeMb: 0, recoverRamFreeMb: 0 } }, { TOKEN_TTL: '3600' });
    const ollama = await cluster.startOllama('bench:1b=900');
    await cluster.startAgent('bench-agent', { ollama, vramTotalMb: 8192, vramFreeMb: 8192, maxConcurrency: 8 });
    const res = await cluster.rest('/api/v1/inference/request', { method: 'POST', body: JSON.stringify({ model: 'bench:1b' }) });
    if (!res.ok) throw new Error(`routing failed: ${res.status} ${await res.text()}`);
    const grant = (await res.json()) as { generate_url: string; token: string };
    const body = JSON.stringify({ model: 'bench:1b', prompt: 'measure the proxy', stream: false });
    const post = async (url: string, headers: Record<string, string>): Promise<number> => {
      const t0 = now();
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
      return now() - t0;
    };
    const bare = spawn(process.execPath, [fileURLToPath(new URL('./bare-proxy.js', import.meta.url)), ollama.url], { stdio: ['ignore', 'pipe', 'inherit'] });
    const barePort = await new Promise<number>((resolve, reject) => {
      bare.stdout.once('data', (c: Buffer) => resolve(Number(/bare proxy on (\d+)/.exec(c.toString())?.[1] ?? 0)));
      bare.once('exit', () => reject(new Error('the bare proxy exited')));
    });
    const direct: number[] = [];
    const gateway: number[] = [];
    const hop: number[] = [];
    const deadline = new Deadline('inference proxy overhead', limitMs);
    for (let i = 0; i < warmup + requests; i += 1) {
      deadline.check();
      // Interleaved, so both paths see the same machine load.
      const d = await post(`${ollama.url}/api/generate`, {});
      const g = await post(grant.generate_url, { authorization: `Bearer ${grant.token}` });
      const h = await post(`http://127.0.0.1:${barePort}/api/generate`, {});
      if (i >= warmup) {
        direct.push(d);
        gateway.push(g);
        hop.push(h);
      }
    }
    bare.kill('SIGKILL');
    const diffs = gateway.map((g, i) => g - (direct[i] ?? 0));
    const directP50 = percentile(direct, 50);
    const gatewayP50 = percentile(gateway, 50);
    return {
      bareHopMsP50: round(percentile(hop, 50) - directP50, 3),
      directMsP50: round(directP50, 3),
      gatewayMsP50: round(gatewayP50, 3),
      overheadMsP50: round(gatewayP50 - directP50, 3),
      overheadMsP99: round(percentile(diffs, 99), 3),
      requests,
    };
  } finally {
    await cluster.close();
  }
}
