import { api } from '../api.js';
import { FailureChart, ThroughputChart } from '../components/charts.js';
import { MastersPanel } from '../components/masters-panel.js';
import { Badge, Card, Empty, ErrorLine } from '../components/ui.js';
import { duration, memory } from '../format.js';
import { navigate, useLoad, useReloadOn } from '../hooks.js';
import type { ClusterStatsView, MinuteBucket } from '../types.js';

/** Workers and their load, queue depths, job counts, the last hour's throughput and failures, and a cluster's masters. */
export function Overview() {
  const cluster = useLoad(() => api<ClusterStatsView>('/api/v1/cluster'), [], 2000);
  const throughput = useLoad(() => api<{ minutes: MinuteBucket[] }>('/api/v1/throughput'), [], 5000);
  useReloadOn(() => true, cluster.reload, [], 500);
  const stats = cluster.data;
  const slots = stats?.workers.reduce((n, w) => n + w.slots, 0) ?? 0;
  const used = stats?.workers.reduce((n, w) => n + w.running, 0) ?? 0;
  return (
    <div class="page">
      <h1>Overview</h1>
      <ErrorLine error={cluster.error} />
      <div class="tiles">
        <div class="tile">
          <b data-testid="live-workers">{stats?.workers.filter((w) => w.health === 'healthy').length ?? '…'}</b> live workers
        </div>
        <div class="tile">
          <b>
            {used} / {slots}
          </b>{' '}
          slots in use
        </div>
        <div class="tile">
          <b>{stats !== undefined ? Object.values(stats.queues).reduce((a, b) => a + b, 0) : '…'}</b> queued
        </div>
        <div class="tile">
          <b>{stats?.jobs.running ?? '…'}</b> running
        </div>
        <div class="tile">
          <b>{stats !== undefined ? stats.jobs.failed + stats.jobs.dead : '…'}</b> failed
        </div>
        <div class="tile">
          <b>{stats !== undefined ? duration(stats.uptimeMs) : '…'}</b> master uptime
        </div>
      </div>
      <div class="grid2">
        <Card title="Throughput (jobs finished / minute, last hour)">
          {throughput.data !== undefined ? <ThroughputChart minutes={throughput.data.minutes} /> : <Empty>loading…</Empty>}
        </Card>
        <Card title="Failure rate (last hour)">
          {throughput.data !== undefined ? <FailureChart minutes={throughput.data.minutes} /> : <Empty>loading…</Empty>}
        </Card>
      </div>
      <MastersPanel view={stats?.masters} />
      <Card title="Workers">
        {stats === undefined ? (
          <Empty>loading…</Empty>
        ) : stats.workers.length === 0 ? (
          <Empty>No workers: start one with `titan worker --master host:port`.</Empty>
        ) : (
          <table data-testid="workers">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Health</th>
                <th>Host</th>
                <th>Tags</th>
                <th>Slots</th>
                <th>CPU (load 1m / cores)</th>
                <th>Memory used</th>
                <th>GPUs</th>
                <th>Version</th>
                <th>Uptime</th>
                <th>Seen</th>
              </tr>
            </thead>
            <tbody>
              {stats.workers.map((w) => (
                <tr key={w.id} data-worker={w.id}>
                  <td>
                    <a
                      href={`#/jobs?worker=${encodeURIComponent(w.id)}`}
                      onClick={(e) => (e.preventDefault(), navigate(`jobs?worker=${encodeURIComponent(w.id)}`))}
                    >
                      {w.id}
                    </a>
                  </td>
                  <td>
                    <Badge state={w.health} />
                  </td>
                  <td>{w.host}</td>
                  <td>
                    {w.tags.map((t) => (
                      <span class="tag" key={t}>
                        {t}
                      </span>
                    ))}
                  </td>
                  <td>
                    <div class="meter" title={`${w.running} of ${w.slots} slots in use`}>
                      <div style={{ width: `${Math.round(w.load * 100)}%` }} />
                    </div>
                    {w.running}/{w.slots}
                  </td>
                  <td>
                    <div class="meter" title="1-minute load average over cores">
                      <div style={{ width: `${Math.min(100, Math.round((100 * (w.load1 ?? 0)) / Math.max(1, w.cpus)))}%` }} />
                    </div>
                    {w.load1 != null ? w.load1.toFixed(2) : '-'} / {w.cpus}
                  </td>
                  <td>
                    <div class="meter" title="memory in use on the worker's machine">
                      <div style={{ width: `${w.freeMemoryMb != null ? Math.round((100 * (w.memoryMb - w.freeMemoryMb)) / Math.max(1, w.memoryMb)) : 0}%` }} />
                    </div>
                    {w.freeMemoryMb != null ? `${memory(w.memoryMb - w.freeMemoryMb)} / ${memory(w.memoryMb)}` : memory(w.memoryMb)}
                  </td>
                  <td>{w.gpus}</td>
                  <td>{w.version}</td>
                  <td>{duration(w.uptimeMs)}</td>
                  <td>{duration(w.lastSeenMsAgo)} ago</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <div class="grid2">
        <Card title="Queue depth per pool">
          {stats === undefined || Object.keys(stats.queues).length === 0 ? (
            <Empty>No ready jobs waiting.</Empty>
          ) : (
            <table>
              <tbody>
                {Object.entries(stats.queues).map(([pool, n]) => (
                  <tr key={pool}>
                    <td>{pool}</td>
                    <td>{n}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card title="Jobs by state">
          {stats === undefined ? (
            <Empty>loading…</Empty>
          ) : (
            <table>
              <tbody>
                {Object.entries(stats.jobs).map(([state, n]) => (
                  <tr key={state}>
                    <td>
                      <a href={`#/jobs?state=${state}`}>
                        <Badge state={state} />
                      </a>
                    </td>
                    <td>{n.toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </div>
  );
}
