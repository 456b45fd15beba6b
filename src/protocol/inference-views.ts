import type { AgentStatus } from '../core/inference-placement.js';

// What the inference service answers (REST, gRPC, TITAN_PROTO). Plain data kept in protocol/ so
// the client package carries these types without the coordinator behind them.

export interface HealthView {
  status: 'ok' | 'starting';
  ready: boolean;
  version: string;
  uptime_s: number;
  workers: number;
  agents_total: number;
  agents_by_status: Record<'healthy' | 'degraded' | 'half_open' | 'offline', number>;
}

export interface AgentView {
  agent_id: string;
  source: 'worker' | 'grpc';
  endpoint: string;
  status: AgentStatus;
  breaker: 'closed' | 'open' | 'half-open';
  reason: string;
  since: string;
  models: { name: string; size_mb?: number }[];
  vram_total_mb: number;
  vram_free_mb: number;
  ram_total_mb: number;
  ram_free_mb: number;
  cpu_percent: number;
  running: number;
  max_concurrency: number;
  rtt_ms: number | null;
  tokens_per_sec: number | null;
  consecutive_failures: number;
  server_error?: string;
  last_report: string;
  requests: { routed: number; success: number; failure: number; timeout: number; client_error: number; cancelled: number; tokens: number };
}

export interface StatusView extends HealthView {
  models: string[];
  metrics: {
    routed_total: number;
    unknown_model_total: number;
    no_capacity_total: number;
    outcomes_total: number;
    transitions_total: Record<'healthy' | 'degraded' | 'half_open' | 'offline', number>;
  };
  recent_transitions: { agent_id: string; from: AgentStatus; to: AgentStatus; reason: string; at: string }[];
  agents?: AgentView[];
}

export interface GrantView {
  agent_id: string;
  endpoint: string;
  model: string;
  score: number;
  token: string;
  token_type: 'Bearer';
  expires_at: string;
  /** Ollama's endpoints on the agent's gateway, ready to POST to. */
  generate_url: string;
  chat_url: string;
}
