import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, Card, Empty, ErrorLine } from '../components/ui.js';
import { ago, runtime } from '../format.js';
import { navigate, useLoad, useReloadOn, useTicking } from '../hooks.js';
import type { JobPage, JobView } from '../types.js';

const STATES = ['', 'pending', 'queued', 'assigned', 'running', 'succeeded', 'failed', 'dead', 'cancelled', 'skipped', 'stopped'];

function queryOfHash(): URLSearchParams {
  return new URLSearchParams(window.location.hash.split('?')[1] ?? '');
}

export function JobTable({ jobs }: { jobs: readonly JobView[] }) {
  useTicking(jobs.some((j) => j.startedAt !== null && j.finishedAt === null));
  return (
    <table data-testid="jobs-table">
      <thead>
        <tr>
          <th>Job</th>
          <th>Name</th>
          <th>State</th>
          <th>Attempt</th>
          <th>Worker</th>
          <th>DAG</th>
          <th>Submitted</th>
          <th>Runtime</th>
          <th>Exit</th>
          <th>Why</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.id} class="clickable" data-job={j.id} onClick={() => navigate(`jobs/${encodeURIComponent(j.id)}`)}>
            <td class="mono">{j.id}</td>
            <td>{j.name}</td>
            <td>
              <Badge state={j.state} />
            </td>
            <td>{j.attempt}</td>
            <td>{j.workerId ?? '-'}</td>
            <td>
              {j.dagId !== null ? (
                <a href={`#/dags/${encodeURIComponent(j.dagId)}`} onClick={(e) => e.stopPropagation()}>
                  {j.dagId}
                </a>
              ) : (
                '-'
              )}
            </td>
            <td>{ago(j.submittedAt)}</td>
            <td data-testid="row-runtime">{runtime(j)}</td>
            <td>{j.exitCode ?? j.signal ?? '-'}</td>
            <td class="why">{j.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Every job, newest first: filter by state, DAG and worker, search by id or name, page with a cursor. */
export function Jobs() {
  const initial = queryOfHash();
  const [state, setState] = useState(initial.get('state') ?? '');
  const [worker, setWorker] = useState(initial.get('worker') ?? '');
  const [dag, setDag] = useState(initial.get('dag') ?? '');
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const [cursors, setCursors] = useState<number[]>([]);
  useEffect(() => {
    const timer = setTimeout(() => setQ(search.trim()), 250);
    return () => clearTimeout(timer);
  }, [search]);
  useEffect(() => setCursors([]), [state, worker, dag, q]);
  const cursor = cursors[cursors.length - 1];
  const params = new URLSearchParams({ limit: '50' });
  if (state !== '') params.set('state', state);
  if (worker.trim() !== '') params.set('worker', worker.trim());
  if (dag.trim() !== '') params.set('dag', dag.trim());
  if (q !== '') params.set('q', q);
  if (cursor !== undefined) params.set('cursor', String(cursor));
  const page = useLoad(() => api<JobPage>(`/api/v1/jobs?${params.toString()}`), [params.toString()]);
  useReloadOn(() => cursor === undefined, page.reload, [cursor], 500);
  return (
    <div class="page">
      <h1>Jobs</h1>
      <div class="filters">
        <input
          type="search"
          placeholder="search id or name"
          value={search}
          onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
          data-testid="job-search"
        />
        <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value)} data-testid="state-filter">
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s === '' ? 'any state' : s}
            </option>
          ))}
        </select>
        <input placeholder="worker id" value={worker} onInput={(e) => setWorker((e.target as HTMLInputElement).value)} />
        <input placeholder="DAG id" value={dag} onInput={(e) => setDag((e.target as HTMLInputElement).value)} />
      </div>
      <ErrorLine error={page.error} />
      <Card
        title={cursor === undefined ? 'Newest' : `Page ${cursors.length + 1}`}
        actions={
          <>
            <button disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              ← Newer
            </button>
            <button disabled={page.data?.nextCursor == null} onClick={() => page.data?.nextCursor != null && setCursors([...cursors, page.data.nextCursor])}>
              Older →
            </button>
          </>
        }
      >
        {page.data === undefined ? <Empty>loading…</Empty> : page.data.jobs.length === 0 ? <Empty>No job matches.</Empty> : <JobTable jobs={page.data.jobs} />}
      </Card>
    </div>
  );
}
