/**
 * `npm run bench:inference`: only the inference steps of the bench (issue 8). Prints the figures
 * against their targets and writes bench/results/inference.json; nothing is asserted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inferenceProxyOverhead, inferenceRouteLatency } from './inference.js';
import { runMain } from './measure.js';

export const INFERENCE_TARGETS = { routeUsP50: 200, proxyOverheadMsP50: 1 } as const;
export const INFERENCE_COUNTS = { agents: 1_000, decisions: 20_000, proxyRequests: 400, proxyWarmup: 50 } as const;

/** Runs both steps; a failed step is reported and leaves its figures null. */
export async function runInferenceBench(log: (line: string) => void): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { inference_route_us_p50: null, inference_proxy_overhead_ms_p50: null };
  const problems: string[] = [];
  log(`- inference routing: ${INFERENCE_COUNTS.decisions} decisions over ${INFERENCE_COUNTS.agents} registered agents ...`);
  try {
    const r = await inferenceRouteLatency(INFERENCE_COUNTS.agents, INFERENCE_COUNTS.decisions, 60_000);
    Object.assign(out, {
      inference_route_us_p50: r.routeUsP50,
      inference_route_us_p99: r.routeUsP99,
      inference_route_with_token_us_p50: r.routeWithTokenUsP50,
    });
  } catch (err) {
    problems.push(`inference routing: ${(err as Error).message}`);
  }
  log(`- inference proxy: ${INFERENCE_COUNTS.proxyRequests} /api/generate via the gateway and direct, interleaved ...`);
  try {
    const p = await inferenceProxyOverhead(INFERENCE_COUNTS.proxyRequests, INFERENCE_COUNTS.proxyWarmup, 120_000);
    Object.assign(out, {
      inference_proxy_overhead_ms_p50: p.overheadMsP50,
      inference_proxy_overhead_ms_p99: p.overheadMsP99,
      inference_direct_ms_p50: p.directMsP50,
      inference_gateway_ms_p50: p.gatewayMsP50,
      inference_bare_proxy_hop_ms_p50: p.bareHopMsP50,
    });
  } catch (err) {
    problems.push(`inference proxy: ${(err as Error).message}`);
  }
  const judge = (v: unknown, target: number): string => (typeof v !== 'number' ? 'n/a' : v < target ? 'PASS' : 'MISS');
  log('');
  log(
    `inference_route_us_p50           ${String(out.inference_route_us_p50)} µs (p99 ${String(out.inference_route_us_p99)} µs; with RS256 token ${String(out.inference_route_with_token_us_p50)} µs)  target < ${INFERENCE_TARGETS.routeUsP50} µs  ${judge(out.inference_route_us_p50, INFERENCE_TARGETS.routeUsP50)}`,
  );
  log(
    `inference_proxy_overhead_ms_p50  ${String(out.inference_proxy_overhead_ms_p50)} ms (direct ${String(out.inference_direct_ms_p50)} ms, via gateway ${String(out.inference_gateway_ms_p50)} ms; floor: a bare Node proxy hop adds ${String(out.inference_bare_proxy_hop_ms_p50)} ms)  target < ${INFERENCE_TARGETS.proxyOverheadMsP50} ms  ${judge(out.inference_proxy_overhead_ms_p50, INFERENCE_TARGETS.proxyOverheadMsP50)}`,
  );
  for (const p of problems) log(`problem: ${p}`);
  return { ...out, inference_problems: problems };
}

async function main(): Promise<number> {
  const log = (line: string): void => console.log(line);
  const figures = await runInferenceBench(log);
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(join('dist', 'bench')) ? join(here, '..', '..') : join(here, '..');
  const path = join(root, 'bench', 'results', 'inference.json');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    path,
    `${JSON.stringify({ ...figures, targets: INFERENCE_TARGETS, counts: INFERENCE_COUNTS, machine: { node: process.version, cpus: cpus().length, loadavg_1m: loadavg()[0] }, at: new Date().toISOString() }, null, 2)}\n`,
  );
  log(`wrote ${path}`);
  return (figures.inference_problems as string[]).length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  runMain(main);
}
