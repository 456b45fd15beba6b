import { useState } from 'preact/hooks';
import { api, post } from '../api.js';
import { Graph } from '../components/graph.js';
import { Action, Badge, Card, Empty, ErrorLine } from '../components/ui.js';
import { ago, approvalQuestion, duration, runtime } from '../format.js';
import { navigate, useLoad, useReloadOn, useTicking } from '../hooks.js';
import type { DagStatusView, DagView } from '../types.js';
import { JobActions } from './job.js';

type DagGraph = DagStatusView & { edges: { from: string; to: string }[] };

export function DagTable({ dags }: { dags: readonly DagView[] }) {
  return (
    <table data-testid="dags-table">
      <thead>
        <tr>
          <th>Run</th>
          <th>Name</th>
          <th>State</th>
          <th>Progress</th>
          <th>Failed</th>
          <th>Started</th>
          <th>Took</th>
        </tr>
      </thead>
      <tbody>
        {dags.map((d) => (
          <tr key={d.id} class="clickable" data-dag={d.id} onClick={() => navigate(`dags/${encodeURIComponent(d.id)}`)}>
            <td class="mono">{d.id}</td>
            <td>{d.name}</td>
            <td>
              <Badge state={d.state} />
            </td>
            <td>
              <div class="meter">
                <div style={{ width: `${Math.round((100 * (d.total - d.unfinished)) / Math.max(1, d.total))}%` }} />
              </div>
              {d.total - d.unfinished}/{d.total}
            </td>
            <td>{d.failed}</td>
            <td>{ago(d.createdAt)}</td>
            <td>{duration((d.finishedAt ?? Date.now()) - d.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Dags() {
  const dags = useLoad(() => api<{ dags: DagView[] }>('/api/v1/dags?limit=100'), []);
  useReloadOn((e) => e.dagId !== null, dags.reload, [], 500);
  return (
    <div class="page">
      <h1>DAG runs</h1>
      <ErrorLine error={dags.error} />
      <Card title="Newest first">
        {dags.data === undefined ? (
          <Empty>loading…</Empty>
        ) : dags.data.dags.length === 0 ? (
          <Empty>No DAG runs yet: `titan dag pipeline.yaml` or the builder.</Empty>
        ) : (
          <DagTable dags={dags.data.dags} />
        )}
      </Card>
    </div>
  );
}

/** One run: its graph with live state colours; a click on a node shows it, with its actions. */
export function DagPage({ id }: { id: string }) {
  const graph = useLoad(() => api<DagGraph>(`/api/v1/dags/${encodeURIComponent(id)}`), [id]);
  useReloadOn((e) => e.dagId === id, graph.reload, [id], 150);
  const [selected, setSelected] = useState<string | null>(null);
  const g = graph.data;
  const job = g?.jobs.find((j) => j.key === selected);
  useTicking(job !== undefined && job.startedAt !== null && job.finishedAt === null);
  return (
    <div class="page">
      <h1>
        DAG <span class="mono">{id}</span> {g !== undefined ? <Badge state={g.dag.state} /> : null}
      </h1>
      <ErrorLine error={graph.error} />
      {g === undefined ? (
        <Empty>loading…</Empty>
      ) : (
        <>
          <Card
            title={`${g.dag.name}: ${g.dag.total - g.dag.unfinished}/${g.dag.total} final, ${g.dag.failed} failed`}
            actions={
              g.dag.state === 'running' ? (
                <Action
                  label="Cancel run"
                  kind="danger"
                  testId="cancel-dag"
                  needs="cancel"
                  run={() => post(`/api/v1/dags/${encodeURIComponent(id)}/cancel`).then(graph.reload)}
                />
              ) : null
            }
          >
            <div class="graph-wrap">
              <Graph
                nodes={g.jobs.map((j) => {
                  const gate = approvalQuestion(j);
                  return { id: j.key, label: j.key, state: j.state, note: gate !== null ? 'awaiting approval' : j.state, ...(gate !== null ? { gate } : {}) };
                })}
                edges={g.edges}
                selected={selected}
                onNode={(key) => setSelected(key)}
                onOpen={(key) => navigate(`jobs/${encodeURIComponent(`${id}.${key}`)}`)}
              />
            </div>
          </Card>
          {job !== undefined ? (
            <Card
              title={`Node ${job.key}`}
              actions={
                <>
                  <JobActions job={job} onDone={graph.reload} />
                  <button onClick={() => navigate(`jobs/${encodeURIComponent(job.id)}`)} data-testid="open-job">
                    Open job page
                  </button>
                </>
              }
            >
              {approvalQuestion(job) !== null ? (
                <p class="gate-why" data-testid="node-gate">
                  Waits for approval: “{approvalQuestion(job)}”. It runs once someone approves it (Approve here, <code>titan approve {job.id}</code>), and fails
                  if rejected.
                </p>
              ) : null}
              <dl class="facts">
                <dt>State</dt>
                <dd data-testid="node-state">{job.state}</dd>
                <dt>Why</dt>
                <dd>{job.reason ?? '-'}</dd>
                <dt>Worker</dt>
                <dd>{job.workerId ?? '-'}</dd>
                <dt>Runtime</dt>
                <dd data-testid="node-runtime">{runtime(job)}</dd>
                <dt>Exit code</dt>
                <dd>{job.exitCode ?? '-'}</dd>
                <dt>Parents</dt>
                <dd>{job.parents.join(', ') || '-'}</dd>
              </dl>
            </Card>
          ) : (
            <p class="hint">Click a node to see it and act on it; double-click opens its job page.</p>
          )}
        </>
      )}
    </div>
  );
}
