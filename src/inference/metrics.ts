import type { AgentStatus } from '../core/inference-placement.js';
import type { InferenceHost } from './service.js';

const STATUSES: readonly AgentStatus[] = ['healthy', 'degraded', 'half-open', 'offline'];

/** Prometheus text exposition of the coordinator's counters and each agent's gauges. */
export function inferencePrometheus(host: InferenceHost): string {
  const c = host.inference;
  const agents = [...c.registry.agents.values()];
  const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const out: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
  };
  metric(
    'titan_inference_agents',
    'gauge',
    'Inference agents by health status.',
    STATUSES.map((s) => [`{status="${s}"}`, agents.filter((a) => a.status === s).length]),
  );
  metric('titan_inference_routed_total', 'counter', 'Inference requests routed to an agent.', [['', c.counters.routed]]);
  metric('titan_inference_refused_total', 'counter', 'Inference requests refused, by reason.', [
    ['{reason="unknown_model"}', c.counters.unknownModel],
    ['{reason="no_capacity"}', c.counters.noCapacity],
  ]);
  metric(
    'titan_inference_transitions_total',
    'counter',
    'Agent health transitions, by the status entered.',
    STATUSES.map((s) => [`{to="${s}"}`, c.registry.transitionCounts[s]]),
  );
  const per = (pick: (a: (typeof agents)[number]) => number | null): [string, number][] =>
    agents.flatMap((a) => {
      const v = pick(a);
      return v === null ? [] : [[`{agent="${label(a.id)}"}`, v] as [string, number]];
    });
  metric(
    'titan_inference_agent_up',
    'gauge',
    '1 when the agent takes traffic (not offline).',
    per((a) => (a.status === 'offline' ? 0 : 1)),
  );
  metric(
    'titan_inference_agent_running',
    'gauge',
    'Requests in flight or reserved on the agent.',
    per((a) => a.running),
  );
  metric(
    'titan_inference_agent_vram_free_mb',
    'gauge',
    'Free VRAM the agent reported.',
    per((a) => a.vramFreeMb),
  );
  metric(
    'titan_inference_agent_rtt_ms',
    'gauge',
    'Smoothed heartbeat round trip.',
    per((a) => a.rttMs),
  );
  metric(
    'titan_inference_agent_tokens_per_second',
    'gauge',
    'Moving average of generation throughput.',
    per((a) => a.tokensPerSec),
  );
  for (const kind of ['success', 'failure', 'timeout'] as const) {
    metric(
      `titan_inference_agent_requests_${kind}_total`,
      'counter',
      `Requests the agent's gateway reported as ${kind}.`,
      per((a) => a.counts[kind]),
    );
  }
  return `${out.join('\n')}\n`;
}
