import { api, post } from '../api.js';
import { Action, Badge, Card, Empty, ErrorLine } from '../components/ui.js';
import { ago, duration, time } from '../format.js';
import { navigate, useLoad, useReloadOn } from '../hooks.js';
import type { JobPage, ScheduleView, ServiceView } from '../types.js';

/** Running services: where they answer, restarts, uptime; stop and restart. */
export function Services() {
  const services = useLoad(() => api<{ services: ServiceView[] }>('/api/v1/services'), [], 3000);
  useReloadOn(() => true, services.reload, [], 500);
  const act = (id: string, verb: string) => () => post(`/api/v1/services/${encodeURIComponent(id)}/${verb}`).then(services.reload);
  return (
    <div class="page">
      <h1>Services</h1>
      <ErrorLine error={services.error} />
      <Card title="Running">
        {services.data === undefined ? (
          <Empty>loading…</Empty>
        ) : services.data.services.length === 0 ? (
          <Empty>No services: deploy one with `titan deploy app.py --port 8000`.</Empty>
        ) : (
          <table data-testid="services">
            <thead>
              <tr>
                <th>Service</th>
                <th>Name</th>
                <th>State</th>
                <th>Ready</th>
                <th>Address</th>
                <th>Worker</th>
                <th>PID</th>
                <th>Restarts</th>
                <th>Uptime</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {services.data.services.map((s) => (
                <tr key={s.id} data-service={s.id}>
                  <td class="mono">
                    <a href={`#/jobs/${encodeURIComponent(s.id)}`}>{s.id}</a>
                  </td>
                  <td>{s.name}</td>
                  <td>
                    <Badge state={s.state} />
                  </td>
                  <td>{s.ready ? 'yes' : 'no'}</td>
                  <td>{s.port !== null ? `${s.host ?? ''}:${s.port}` : '-'}</td>
                  <td>{s.workerId ?? '-'}</td>
                  <td>{s.pid ?? '-'}</td>
                  <td>{s.restarts}</td>
                  <td>{duration(s.uptimeMs)}</td>
                  <td>
                    <Action label="Restart" testId={`restart-${s.id}`} needs="deploy" run={act(s.id, 'restart')} />{' '}
                    <Action label="Stop" kind="danger" testId={`stop-${s.id}`} needs="deploy" run={act(s.id, 'stop')} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

/** Cron schedules of DAG runs: next and last run, pause and resume. */
export function Schedules() {
  const schedules = useLoad(() => api<{ schedules: ScheduleView[] }>('/api/v1/schedules'), [], 5000);
  const act = (id: string, verb: string) => () => post(`/api/v1/schedules/${encodeURIComponent(id)}/${verb}`).then(schedules.reload);
  return (
    <div class="page">
      <h1>Schedules</h1>
      <ErrorLine error={schedules.error} />
      <Card title="Cron schedules">
        {schedules.data === undefined ? (
          <Empty>loading…</Empty>
        ) : schedules.data.schedules.length === 0 ? (
          <Empty>No schedules: `titan schedule add pipeline.yaml --cron "0 3 * * *"`.</Empty>
        ) : (
          <table data-testid="schedules">
            <thead>
              <tr>
                <th>Schedule</th>
                <th>Name</th>
                <th>Cron</th>
                <th>State</th>
                <th>Next run</th>
                <th>Last run</th>
                <th>Jobs</th>
                <th>Overlap</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {schedules.data.schedules.map((s) => (
                <tr key={s.id} data-schedule={s.id}>
                  <td class="mono">{s.id}</td>
                  <td>{s.name}</td>
                  <td class="mono">
                    {s.cron}
                    {s.tz !== null ? ` (${s.tz})` : ''}
                  </td>
                  <td>
                    <Badge state={s.paused ? 'paused' : 'active'} />
                  </td>
                  <td>{s.nextDueAt !== null ? `${time(s.nextDueAt)} (${new Date(s.nextDueAt).toLocaleDateString()})` : '-'}</td>
                  <td>{s.lastDagId !== null ? <a href={`#/dags/${encodeURIComponent(s.lastDagId)}`}>{ago(s.lastDueAt)}</a> : '-'}</td>
                  <td>{s.jobs}</td>
                  <td>{s.overlap}</td>
                  <td>
                    {s.paused ? (
                      <Action label="Resume" testId={`resume-${s.id}`} needs="submit" run={act(s.id, 'resume')} />
                    ) : (
                      <Action label="Pause" testId={`pause-${s.id}`} needs="submit" run={act(s.id, 'pause')} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}

/** The dead-letter queue: jobs whose retries ran out; inspect one, or run it again. */
export function Dlq() {
  const dead = useLoad(() => api<JobPage>('/api/v1/dlq?limit=100'), []);
  useReloadOn((e) => e.to === 'dead' || e.from === 'dead', dead.reload, [], 300);
  return (
    <div class="page">
      <h1>Dead-letter queue</h1>
      <ErrorLine error={dead.error} />
      <Card title="Dead jobs">
        {dead.data === undefined ? (
          <Empty>loading…</Empty>
        ) : dead.data.jobs.length === 0 ? (
          <Empty>Nothing is dead.</Empty>
        ) : (
          <table data-testid="dlq">
            <thead>
              <tr>
                <th>Job</th>
                <th>Name</th>
                <th>Attempts</th>
                <th>Exit</th>
                <th>Died</th>
                <th>Why</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {dead.data.jobs.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <td class="mono">{j.id}</td>
                  <td>{j.name}</td>
                  <td>{j.attempt}</td>
                  <td>{j.exitCode ?? j.signal ?? '-'}</td>
                  <td>{ago(j.finishedAt)}</td>
                  <td class="why">{j.reason ?? ''}</td>
                  <td>
                    <button onClick={() => navigate(`jobs/${encodeURIComponent(j.id)}`)}>Inspect</button>{' '}
                    <Action
                      label="Retry"
                      testId={`retry-${j.id}`}
                      needs="submit"
                      run={() => post(`/api/v1/dlq/${encodeURIComponent(j.id)}/retry`).then(dead.reload)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
