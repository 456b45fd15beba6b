import { InferenceRequest } from '../protocol/inference-messages.js';
import type { AgentStatus } from '../core/inference-placement.js';
import type { AgentView, GrantView, HealthView, StatusView } from '../protocol/inference-views.js';
import type { InferenceCoordinator, RouteRefusal } from './coordinator.js';
import type { AgentRecord } from './registry.js';
import { WORKER_VERSION } from '../common/version.js';

export type { AgentView, GrantView, HealthView, StatusView } from '../protocol/inference-views.js';

/** What the service layer needs of the master; REST, gRPC and TITAN_PROTO all call through here. */
export interface InferenceHost {
  readonly inference: InferenceCoordinator;
  readonly ready: boolean;
  readonly startedAt: number;
  liveWorkerCount(): number;
}

export interface RefusalView {
  code: 'E_UNKNOWN_MODEL' | 'E_NO_CAPACITY';
  error: string;
  available_models: string[];
  excluded: RouteRefusal['excluded'];
}

export type RequestResult = { ok: true; grant: GrantView } | { ok: false; refusal: RefusalView } | { ok: false; invalid: string };

/** Names of statuses as JSON keys (no dash). */
const key = (s: AgentStatus): 'healthy' | 'degraded' | 'half_open' | 'offline' => (s === 'half-open' ? 'half_open' : s);

export function healthView(host: InferenceHost, now: number): HealthView {
  const byStatus = { healthy: 0, degraded: 0, half_open: 0, offline: 0 };
  for (const agent of host.inference.registry.agents.values()) byStatus[key(agent.status)] += 1;
  return {
    status: host.ready ? 'ok' : 'starting',
    ready: host.ready,
    version: WORKER_VERSION,
    uptime_s: Math.round((now - host.startedAt) / 1000),
    workers: host.liveWorkerCount(),
    agents_total: host.inference.registry.agents.size,
    agents_by_status: byStatus,
  };
}

export function statusView(host: InferenceHost, includeAgents: boolean, now: number): StatusView {
  const c = host.inference;
  c.tick(now);
  const models = new Set<string>();
  for (const agent of c.registry.agents.values()) for (const name of agent.models.keys()) models.add(name);
  const t = c.registry.transitionCounts;
  const view: StatusView = {
    ...healthView(host, now),
    models: [...models].sort(),
    metrics: {
      routed_total: c.counters.routed,
      unknown_model_total: c.counters.unknownModel,
      no_capacity_total: c.counters.noCapacity,
      outcomes_total: c.counters.outcomes,
      transitions_total: { healthy: t.healthy, degraded: t.degraded, half_open: t['half-open'], offline: t.offline },
    },
    recent_transitions: c.registry.recent
      .slice(-50)
      .map((e) => ({ agent_id: e.agentId, from: e.from, to: e.to, reason: e.reason, at: new Date(e.at).toISOString() })),
  };
  if (includeAgents) view.agents = [...c.registry.agents.values()].map(agentView);
  return view;
}

export function agentView(a: AgentRecord): AgentView {
  return {
    agent_id: a.id,
    source: a.source,
    endpoint: a.endpoint,
    status: a.status,
    breaker: a.health.breaker,
    reason: a.health.reason,
    since: new Date(a.health.since).toISOString(),
    models: [...a.models].map(([name, sizeMb]) => (sizeMb !== undefined ? { name, size_mb: sizeMb } : { name })),
    vram_total_mb: a.vramTotalMb,
    vram_free_mb: a.vramFreeMb,
    ram_total_mb: a.ramTotalMb,
    ram_free_mb: a.ramFreeMb,
    cpu_percent: round(a.cpuPercent, 1),
    running: a.running,
    max_concurrency: a.maxConcurrency,
    rtt_ms: a.rttMs === null ? null : round(a.rttMs, 3),
    tokens_per_sec: a.tokensPerSec === null ? null : round(a.tokensPerSec, 2),
    consecutive_failures: a.health.consecutiveFailures,
    ...(a.serverError !== undefined ? { server_error: a.serverError } : {}),
    last_report: new Date(a.lastReportAt).toISOString(),
    requests: {
      routed: a.counts.routed,
      success: a.counts.success,
      failure: a.counts.failure,
      timeout: a.counts.timeout,
      client_error: a.counts.clientError,
      cancelled: a.counts.cancelled,
      tokens: a.counts.tokens,
    },
  };
}

/** Validates the body, routes, signs. The client id is the body's, else the authenticated caller's. */
export async function requestInference(host: InferenceHost, body: unknown, callerId: string, now: number): Promise<RequestResult> {
  const parsed = InferenceRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      invalid: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'} (send {"model": "llama3:8b", "prompt": "...", "max_tokens": 128})`,
    };
  }
  const answer = await host.inference.route(parsed.data.model, parsed.data.client_id ?? callerId, now);
  if (!answer.ok) {
    return {
      ok: false,
      refusal: {
        code: answer.reason === 'unknown_model' ? 'E_UNKNOWN_MODEL' : 'E_NO_CAPACITY',
        error: answer.message,
        available_models: [...answer.availableModels],
        excluded: answer.excluded,
      },
    };
  }
  return {
    ok: true,
    grant: {
      agent_id: answer.agentId,
      endpoint: answer.endpoint,
      model: answer.model,
      score: round(answer.score, 6),
      token: answer.token,
      token_type: 'Bearer',
      expires_at: new Date(answer.expiresAt).toISOString(),
      generate_url: `${answer.endpoint}/api/generate`,
      chat_url: `${answer.endpoint}/api/chat`,
    },
  };
}

export function publicKeyView(host: InferenceHost): { algorithm: 'RS256'; kid: string; public_key_pem: string; issuer: string } {
  return { algorithm: 'RS256', kid: host.inference.keyId, public_key_pem: host.inference.publicKeyPem, issuer: 'titan-master' };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
