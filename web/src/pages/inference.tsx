import { api } from '../api.js';
import { Badge, Card, Empty, ErrorLine } from '../components/ui.js';
import { ago, memory } from '../format.js';
import { useLoad } from '../hooks.js';

/** The fields of an agent in GET /api/v1/status?include_agents=true that this page shows (AgentView in src/inference/service.ts). */
interface Agent {
  readonly agent_id: string;
  readonly endpoint: string;
  readonly status: string;
  readonly breaker: string;
  readonly reason: string;
  readonly models: readonly { readonly name: string; readonly size_mb?: number }[];
  readonly vram_total_mb: number;
  readonly vram_free_mb: number;
  readonly cpu_percent: number;
  readonly running: number;
  readonly max_concurrency: number;
  readonly rtt_ms: number | null;
  readonly tokens_per_sec: number | null;
  readonly last_report: string;
  readonly requests: { readonly routed: number; readonly success: number; readonly failure: number; readonly timeout: number };
}

interface Status {
  readonly ready: boolean;
  readonly agents?: readonly Agent[];
  readonly metrics: { readonly routed_total: number; readonly no_capacity_total: number; readonly unknown_model_total: number };
}

/** How often the page asks again: agents report every heartbeat, so this is as live as it gets. */
const REFRESH_MS = 1000;

function Vram({ agent }: { agent: Agent }) {
  const used = agent.vram_total_mb - agent.vram_free_mb;
  const pct = agent.vram_total_mb > 0 ? Math.round((100 * used) / agent.vram_total_mb) : 0;
  return (
    <span title={`${memory(agent.vram_free_mb)} free of ${memory(agent.vram_total_mb)}`}>
      <span class="meter">
        <span class="meter-fill" style={{ width: `${pct}%` }} />
      </span>
      {memory(agent.vram_free_mb)} free / {memory(agent.vram_total_mb)}
    </span>
  );
}

/** Inference agents (workers with --inference, and gRPC agents): what they serve and how they are doing, refreshed every second. */
export function Inference() {
  const status = useLoad(() => api<Status>('/api/v1/status?include_agents=true'), [], REFRESH_MS);
  const s = status.data;
  const agents = [...(s?.agents ?? [])].sort((a, b) => a.agent_id.localeCompare(b.agent_id));
  return (
    <div class="page">
      <h1>Inference agents</h1>
      <ErrorLine error={status.error} />
      {s !== undefined ? (
        <div class="tiles">
          <div class="tile" data-testid="agents-live">
            <b>
              {agents.filter((a) => a.status !== 'offline').length}/{agents.length}
            </b>
            agents serving
          </div>
          <div class="tile">
            <b>{s.metrics.routed_total}</b>requests routed
          </div>
          <div class="tile">
            <b>{s.metrics.no_capacity_total}</b>refused: no capacity
          </div>
          <div class="tile">
            <b>{s.metrics.unknown_model_total}</b>refused: unknown model
          </div>
        </div>
      ) : null}
      <Card title="Agents (docs/INFERENCE.md); live">
        {s === undefined ? (
          <Empty>loading…</Empty>
        ) : agents.length === 0 ? (
          <Empty>
            No inference agents: start a worker with <code>--inference http://127.0.0.1:11434</code> (Ollama) or register one over gRPC.
          </Empty>
        ) : (
          <table data-testid="inference-agents">
            <thead>
              <tr>
                <th>Agent</th>
                <th>Status</th>
                <th>Breaker</th>
                <th>Models</th>
                <th>VRAM</th>
                <th>Load</th>
                <th>RTT</th>
                <th>Tokens/s</th>
                <th>Requests ok/failed</th>
                <th>Reported</th>
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => (
                <tr key={a.agent_id} data-agent={a.agent_id} class={a.status === 'offline' ? 'bad' : ''}>
                  <td>
                    <span class="mono">{a.agent_id}</span>
                    <div class="sub mono">{a.endpoint}</div>
                  </td>
                  <td data-testid="agent-status" title={a.reason}>
                    <Badge state={a.status} />
                  </td>
                  <td data-testid="agent-breaker">
                    <Badge state={`breaker-${a.breaker}`} label={a.breaker} />
                  </td>
                  <td data-testid="agent-models">
                    {a.models.map((m) => (
                      <span key={m.name} class="tag" title={m.size_mb !== undefined ? memory(m.size_mb) : undefined}>
                        {m.name}
                      </span>
                    ))}
                  </td>
                  <td data-testid="agent-vram">
                    <Vram agent={a} />
                  </td>
                  <td data-testid="agent-load">
                    {a.running}/{a.max_concurrency} running<div class="sub">CPU {a.cpu_percent}%</div>
                  </td>
                  <td data-testid="agent-rtt">{a.rtt_ms === null ? '-' : `${a.rtt_ms.toFixed(1)} ms`}</td>
                  <td data-testid="agent-tps">{a.tokens_per_sec === null ? '-' : a.tokens_per_sec.toFixed(1)}</td>
                  <td data-testid="agent-requests">
                    {a.requests.success}/{a.requests.failure + a.requests.timeout}
                  </td>
                  <td>{ago(Date.parse(a.last_report))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
