/**
 * Where an inference request goes: filter the agents that can serve the model now, then rank
 * them by the weighted multi-criteria score (docs/INFERENCE.md). Pure: the shell hands in a
 * snapshot of every agent and gets back the winner, or why there is none.
 */

/** The health an agent shows to routing and in status (the breaker and the resource watch combined). */
export type AgentStatus = 'healthy' | 'degraded' | 'half-open' | 'offline';

export interface ScoreWeights {
  readonly vram: number;
  readonly load: number;
  readonly rtt: number;
  readonly performance: number;
}

export interface PlacementConfig {
  readonly weights: ScoreWeights;
  /** An RTT at or above this scores 0 on the latency term. */
  readonly rttScaleMs: number;
  /** A throughput at or above this scores 1 on the performance term. */
  readonly tokensPerSecScale: number;
  /** The performance term while an agent has no completed request yet. */
  readonly noHistoryPerformance: number;
  /** The latency term before the first RTT measurement. */
  readonly noRttLatency: number;
  /** Memory a model needs when neither the configuration nor the agent's model list says. */
  readonly defaultModelMb: number;
  /** Per-model memory estimates (MB), by normalised model name; they win over the size an agent reports. */
  readonly modelMb: Readonly<Record<string, number>>;
  /**
   * Degraded agents score at this fraction. Half-open ones score in full: their trial budget
   * limits what they get, and they need the trials to prove themselves and close the breaker.
   */
  readonly degradedFactor: number;
}

export const DEFAULT_PLACEMENT: PlacementConfig = {
  weights: { vram: 0.4, load: 0.3, rtt: 0.2, performance: 0.1 },
  rttScaleMs: 500,
  tokensPerSecScale: 100,
  noHistoryPerformance: 0.5,
  noRttLatency: 0.5,
  defaultModelMb: 4096,
  modelMb: {},
  degradedFactor: 0.5,
};

/** What routing needs to know of one agent at this moment. */
export interface AgentSnapshot {
  readonly id: string;
  readonly status: AgentStatus;
  /** Normalised model name → its size in MB when the agent reported one. */
  readonly models: ReadonlyMap<string, number | undefined>;
  /** 0 on a machine without a GPU: models are then served from RAM. */
  readonly vramTotalMb: number;
  readonly vramFreeMb: number;
  readonly ramFreeMb: number;
  readonly running: number;
  readonly maxConcurrency: number;
  /** null until the master measured one. */
  readonly rttMs: number | null;
  /** null while the agent has no completed request (no history). */
  readonly tokensPerSec: number | null;
  /** False for a half-open agent whose trial budget is spent. */
  readonly admitsTrial: boolean;
}

export type Placement =
  | { readonly ok: true; readonly agentId: string; readonly score: number; readonly eligible: number }
  | {
      readonly ok: false;
      readonly reason: 'unknown_model' | 'no_capacity';
      readonly message: string;
      /** Every model some agent serves, sorted, so the caller can pick one that exists. */
      readonly availableModels: readonly string[];
      /** For no_capacity: how many agents with the model were left out, by cause. */
      readonly excluded: Readonly<Record<ExclusionCause, number>>;
    };

export type ExclusionCause = 'offline' | 'trials_spent' | 'memory' | 'busy';

/** Ollama names without a tag mean `:latest`; `llama3` and `llama3:latest` are one model. */
export function normaliseModel(name: string): string {
  const trimmed = name.trim();
  const slash = trimmed.lastIndexOf('/');
  return trimmed.indexOf(':', slash + 1) === -1 ? `${trimmed}:latest` : trimmed;
}

/** The memory (MB) this model is expected to need on that agent. */
export function modelNeedMb(agent: AgentSnapshot, model: string, config: PlacementConfig): number {
  return config.modelMb[model] ?? agent.models.get(model) ?? config.defaultModelMb;
}

/**
 * The weighted score of an eligible agent, in [0, 1] before the degraded factor:
 * w.vram·(1 − used/total) + w.load·(1 − running/max) + w.rtt·(1 − min(rtt/scale, 1)) + w.perf·min(tps/scale, 1).
 * A GPU-less agent scores 0 on the VRAM term (it serves from RAM, slower than any GPU).
 */
export function scoreAgent(agent: AgentSnapshot, config: PlacementConfig): number {
  const w = config.weights;
  const vram = agent.vramTotalMb > 0 ? 1 - clamp01((agent.vramTotalMb - agent.vramFreeMb) / agent.vramTotalMb) : 0;
  const load = agent.maxConcurrency > 0 ? 1 - clamp01(agent.running / agent.maxConcurrency) : 0;
  const latency = agent.rttMs === null ? config.noRttLatency : 1 - Math.min(agent.rttMs / config.rttScaleMs, 1);
  const performance = agent.tokensPerSec === null ? config.noHistoryPerformance : Math.min(agent.tokensPerSec / config.tokensPerSecScale, 1);
  const score = w.vram * vram + w.load * load + w.rtt * latency + w.performance * performance;
  return agent.status === 'degraded' ? score * config.degradedFactor : score;
}

/** Why this agent cannot take the model now, or null when it can. */
export function exclusionOf(agent: AgentSnapshot, model: string, config: PlacementConfig): ExclusionCause | null {
  if (agent.status === 'offline') return 'offline';
  if (agent.status === 'half-open' && !agent.admitsTrial) return 'trials_spent';
  const need = modelNeedMb(agent, model, config);
  const free = agent.vramTotalMb > 0 ? agent.vramFreeMb : agent.ramFreeMb;
  if (free < need) return 'memory';
  if (agent.running >= agent.maxConcurrency) return 'busy';
  return null;
}

/**
 * The best agent for the model; ties keep the earlier agent (the order given, registration
 * order in the master), so equal agents are chosen predictably. One pass, no allocation on the
 * winning path. `agents` is walked a second time to explain a refusal, so it must be re-iterable
 * (an array or an object whose iterator starts afresh), not a one-shot iterator.
 */
export function placeInference(agents: Iterable<AgentSnapshot>, requestedModel: string, config: PlacementConfig): Placement {
  const model = normaliseModel(requestedModel);
  let best: AgentSnapshot | null = null;
  let bestScore = -Infinity;
  let withModel = 0;
  let eligible = 0;
  for (const agent of agents) {
    if (!agent.models.has(model)) continue;
    withModel += 1;
    if (exclusionOf(agent, model, config) !== null) continue;
    eligible += 1;
    const score = scoreAgent(agent, config);
    if (score > bestScore) {
      best = agent;
      bestScore = score;
    }
  }
  if (best !== null) return { ok: true, agentId: best.id, score: bestScore, eligible };
  return explainNoPlacement(agents, model, withModel, config);
}

function explainNoPlacement(agents: Iterable<AgentSnapshot>, model: string, withModel: number, config: PlacementConfig): Placement {
  const available = new Set<string>();
  const excluded: Record<ExclusionCause, number> = { offline: 0, trials_spent: 0, memory: 0, busy: 0 };
  for (const agent of agents) {
    for (const name of agent.models.keys()) available.add(name);
    if (agent.models.has(model)) {
      const cause = exclusionOf(agent, model, config);
      if (cause !== null) excluded[cause] += 1;
    }
  }
  const availableModels = [...available].sort();
  if (withModel === 0) {
    const list = availableModels.length > 0 ? availableModels.join(', ') : 'none: no inference agent is registered';
    return { ok: false, reason: 'unknown_model', message: `no agent serves model "${model}" (available: ${list})`, availableModels, excluded };
  }
  const causes = (Object.entries(excluded) as [ExclusionCause, number][]).filter(([, n]) => n > 0).map(([cause, n]) => `${n} ${CAUSE_TEXT[cause]}`);
  return {
    ok: false,
    reason: 'no_capacity',
    message: `${withModel} agent(s) serve "${model}" but none can take a request now (${causes.join(', ')}); retry shortly`,
    availableModels,
    excluded,
  };
}

const CAUSE_TEXT: Record<ExclusionCause, string> = {
  offline: 'offline (breaker open)',
  trials_spent: 'half-open with their trial requests in flight',
  memory: 'without enough free memory for the model',
  busy: 'at their maximum concurrency',
};

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
