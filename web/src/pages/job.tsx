import { api, downloadLog, post } from '../api.js';
import { LogView } from '../components/log-view.js';
import { Action, Badge, Card, Empty, ErrorLine } from '../components/ui.js';
import { approvalQuestion, duration, runtime, time } from '../format.js';
import { useLoad, useReloadOn, useTicking } from '../hooks.js';
import type { Attempt, JobEventView, JobView } from '../types.js';

interface Detail {
  readonly job: JobView;
  readonly events: JobEventView[];
  readonly attempts: Attempt[];
  readonly final: boolean;
}

const FINAL = new Set(['succeeded', 'failed', 'dead', 'cancelled', 'skipped', 'stopped']);

/** The actions a job in this state can take; each is one POST. */
export function JobActions({ job, onDone }: { job: JobView; onDone: () => void }) {
  const act =
    (verb: string, body: unknown = {}) =>
    () =>
      post(`/api/v1/jobs/${encodeURIComponent(job.id)}/${verb}`, body).then(onDone);
  const awaiting = job.state === 'pending' && /awaiting approval/.test(job.reason ?? '');
  return (
    <>
      {awaiting ? <Action label="Approve" kind="primary" testId="approve" needs="approve" run={act('approve', { by: 'dashboard' })} /> : null}
      {awaiting ? (
        <Action label="Reject" kind="danger" testId="reject" needs="approve" run={act('reject', { by: 'dashboard', reason: 'rejected in the dashboard' })} />
      ) : null}
      {!FINAL.has(job.state) ? <Action label="Cancel" kind="danger" testId="cancel" needs="cancel" run={act('cancel')} /> : null}
      {['failed', 'dead', 'cancelled', 'skipped'].includes(job.state) ? <Action label="Retry" testId="retry" needs="submit" run={act('retry')} /> : null}
    </>
  );
}

/** One job: its state and timing, attempts with exit codes, history, and the live log. */
export function JobPageView({ id }: { id: string }) {
  const detail = useLoad(() => api<Detail>(`/api/v1/jobs/${encodeURIComponent(id)}`), [id]);
  useReloadOn((e) => e.jobId === id, detail.reload, [id], 200);
  const d = detail.data;
  useTicking(d !== undefined && d.job.startedAt !== null && d.job.finishedAt === null);
  const gate = d !== undefined ? approvalQuestion(d.job) : null;
  return (
    <div class="page">
      <h1>
        Job <span class="mono">{id}</span> {d !== undefined ? <Badge state={d.job.state} /> : null}
      </h1>
      <ErrorLine error={detail.error} />
      {d === undefined ? (
        <Empty>loading…</Empty>
      ) : (
        <>
          <Card title={d.job.name} actions={<JobActions job={d.job} onDone={detail.reload} />}>
            {gate !== null ? (
              <p class="gate-why" data-testid="job-gate">
                Waits for approval: “{gate}”. It runs once someone approves it, and fails if rejected.
              </p>
            ) : null}
            <dl class="facts">
              <dt>State</dt>
              <dd data-testid="job-state">{d.job.state}</dd>
              <dt>Why</dt>
              <dd>{d.job.reason ?? '-'}</dd>
              <dt>Worker</dt>
              <dd>{d.job.workerId ?? '-'}</dd>
              <dt>DAG</dt>
              <dd>{d.job.dagId !== null ? <a href={`#/dags/${encodeURIComponent(d.job.dagId)}`}>{d.job.dagId}</a> : '-'}</dd>
              <dt>Attempt</dt>
              <dd>{d.job.attempt}</dd>
              <dt>Exit code</dt>
              <dd>{d.job.exitCode ?? d.job.signal ?? '-'}</dd>
              <dt>Submitted</dt>
              <dd>
                {time(d.job.submittedAt)}
                {d.job.submittedBy !== undefined ? ` by ${d.job.submittedBy}` : ''}
              </dd>
              <dt>Started</dt>
              <dd>{time(d.job.startedAt)}</dd>
              <dt>Finished</dt>
              <dd>{time(d.job.finishedAt)}</dd>
              <dt>Runtime</dt>
              <dd data-testid="job-runtime">{runtime(d.job)}</dd>
              <dt>Requires</dt>
              <dd>{d.job.requirement.join(', ')}</dd>
              <dt>Priority</dt>
              <dd>{d.job.priority}</dd>
            </dl>
          </Card>
          <Card title="Attempts">
            {d.attempts.length === 0 ? (
              <Empty>Not started yet.</Empty>
            ) : (
              <table data-testid="attempts">
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Worker</th>
                    <th>Outcome</th>
                    <th>Started</th>
                    <th>Finished</th>
                    <th>Took</th>
                    <th>Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {d.attempts.map((a) => (
                    <tr key={a.attempt}>
                      <td>{a.attempt}</td>
                      <td>{a.workerId ?? '-'}</td>
                      <td>
                        <Badge state={a.state} />
                      </td>
                      <td>{time(a.startedAt)}</td>
                      <td>{time(a.finishedAt)}</td>
                      <td>{a.startedAt !== null ? duration((a.finishedAt ?? Date.now()) - a.startedAt) : '-'}</td>
                      <td class="why">{a.detail ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <Card title="Log" actions={<Action label="Download" testId="download" run={() => downloadLog(id)} />}>
            <LogView jobId={id} />
          </Card>
          <Card title="History">
            <table>
              <thead>
                <tr>
                  <th>At</th>
                  <th>From</th>
                  <th>To</th>
                  <th>Attempt</th>
                  <th>Worker</th>
                  <th>Detail</th>
                </tr>
              </thead>
              <tbody>
                {d.events.map((e, i) => (
                  <tr key={i}>
                    <td>{time(e.at)}</td>
                    <td>{e.from ?? '-'}</td>
                    <td>
                      <Badge state={e.to} />
                    </td>
                    <td>{e.attempt}</td>
                    <td>{e.workerId ?? '-'}</td>
                    <td class="why">{e.detail ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
        </>
      )}
    </div>
  );
}
