import { api } from '../api.js';
import { Badge, Card, Empty, ErrorLine } from '../components/ui.js';
import { ago, duration, STATE_COLOURS, time } from '../format.js';
import { navigate, useLoad, useReloadOn } from '../hooks.js';
import type { DagStatusView } from '../types.js';

interface AgentRun {
  readonly agentRunId: string;
  readonly dags: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly state: string;
  readonly failedDags: number;
}

export function AgentRuns() {
  const runs = useLoad(() => api<{ agentRuns: AgentRun[] }>('/api/v1/agent-runs'), [], 5000);
  useReloadOn((e) => e.dagId !== null, runs.reload, [], 1000);
  return (
    <div class="page">
      <h1>Agent runs</h1>
      <ErrorLine error={runs.error} />
      <Card title="DAGs grouped by agent_run_id">
        {runs.data === undefined ? (
          <Empty>loading…</Empty>
        ) : runs.data.agentRuns.length === 0 ? (
          <Empty>No agent runs: submit DAGs with agent_run_id (Python SDK submit_dag / submit_yaml).</Empty>
        ) : (
          <table data-testid="agent-runs">
            <thead>
              <tr>
                <th>Agent run</th>
                <th>State</th>
                <th>DAGs</th>
                <th>Failed</th>
                <th>Started</th>
                <th>Took</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.agentRuns.map((r) => (
                <tr key={r.agentRunId} class="clickable" data-agent-run={r.agentRunId} onClick={() => navigate(`agents/${encodeURIComponent(r.agentRunId)}`)}>
                  <td class="mono">{r.agentRunId}</td>
                  <td>
                    <Badge state={r.state} />
                  </td>
                  <td>{r.dags}</td>
                  <td>{r.failedDags}</td>
                  <td>{ago(r.startedAt)}</td>
                  <td>{r.startedAt !== null ? duration((r.finishedAt ?? Date.now()) - r.startedAt) : '-'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

const ROW = 22;
const LABEL = 220;
const WIDTH = 1000;

/** One agent run as a timeline: a row per job, grouped by DAG, bars from start to finish coloured by outcome. */
export function AgentRunPage({ id }: { id: string }) {
  const run = useLoad(() => api<AgentRun & { runs: DagStatusView[] }>(`/api/v1/agent-runs/${encodeURIComponent(id)}`), [id]);
  useReloadOn((e) => e.dagId !== null && (run.data?.runs.some((r) => r.dag.id === e.dagId) ?? false), run.reload, [id], 300);
  const r = run.data;
  if (r === undefined)
    return (
      <div class="page">
        <h1>
          Agent run <span class="mono">{id}</span>
        </h1>
        <ErrorLine error={run.error} />
        {run.error === null ? <Empty>loading…</Empty> : null}
      </div>
    );
  const now = Date.now();
  const start = r.startedAt ?? now;
  const end = Math.max(start + 1000, r.finishedAt ?? now);
  const x = (t: number): number => LABEL + ((WIDTH - LABEL - 10) * (t - start)) / (end - start);
  const rows = r.runs.flatMap((dag) => [{ kind: 'dag' as const, dag }, ...dag.jobs.map((job) => ({ kind: 'job' as const, dag, job }))]);
  return (
    <div class="page">
      <h1>
        Agent run <span class="mono">{id}</span> <Badge state={r.state} />
      </h1>
      <Card title={`${r.dags} DAG(s) from ${time(r.startedAt)} to ${r.finishedAt !== null ? time(r.finishedAt) : 'now'} (${duration(end - start)})`}>
        <svg class="timeline" viewBox={`0 0 ${WIDTH} ${rows.length * ROW + 24}`} width="100%" data-testid="agent-timeline">
          <text x={LABEL} y={12} class="axis">
            {time(start)}
          </text>
          <text x={WIDTH - 70} y={12} class="axis">
            {time(end)}
          </text>
          {rows.map((row, i) => {
            const y = 20 + i * ROW;
            if (row.kind === 'dag') {
              return (
                <g key={row.dag.dag.id} class="clickable" onClick={() => navigate(`dags/${encodeURIComponent(row.dag.dag.id)}`)}>
                  <text x={4} y={y + 15} class="tl-dag">
                    {row.dag.dag.name} ({row.dag.dag.id})
                  </text>
                  <rect
                    x={x(row.dag.dag.createdAt)}
                    y={y + 8}
                    width={Math.max(2, x(row.dag.dag.finishedAt ?? now) - x(row.dag.dag.createdAt))}
                    height={4}
                    fill={STATE_COLOURS[row.dag.dag.state] ?? '#7b8794'}
                  />
                </g>
              );
            }
            const { job } = row;
            const from = job.startedAt ?? job.submittedAt;
            return (
              <g key={job.id} class="clickable" onClick={() => navigate(`jobs/${encodeURIComponent(job.id)}`)}>
                <text x={16} y={y + 15} class="tl-job">
                  {job.key}
                </text>
                <rect
                  x={x(from)}
                  y={y + 3}
                  width={Math.max(3, x(job.finishedAt ?? now) - x(from))}
                  height={ROW - 6}
                  rx={3}
                  fill={STATE_COLOURS[job.state] ?? '#7b8794'}
                >
                  <title>{`${job.key}: ${job.state}, ${time(job.startedAt)} – ${time(job.finishedAt)}`}</title>
                </rect>
              </g>
            );
          })}
        </svg>
      </Card>
    </div>
  );
}
