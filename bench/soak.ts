/**
 * The soak: many trivial jobs through one master with a short retention, in segments, sampling
 * the master's RSS all along and the store's size (database + WAL) after each segment. Throughput
 * at the end is compared with the first segment's in the same run.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BenchCluster, BENCH_TOKEN } from './cluster.js';
import { round } from './measure.js';
import { pushJobs } from './titan.js';

export interface SoakFigures {
  readonly soak_jobs: number;
  readonly soak_retention: string;
  readonly soak_master_rss_mb_max: number;
  readonly soak_store_mb_end: number;
  readonly soak_throughput_jobs_per_s: number;
  /** Rate of the first segment (10,000 jobs, or a tenth of a shorter soak) and of the last. */
  readonly soak_throughput_first_segment_jobs_per_s: number;
  readonly soak_throughput_last_segment_jobs_per_s: number;
  readonly soak_throughput_end_over_start: number;
  /** The master's CPU time (user + system, all its threads) per job over the whole soak: its cost, apart from how busy the machine was. */
  readonly soak_master_cpu_ms_per_job: number;
  /** store_mb is the database and its WAL; db_mb the database alone (the WAL cycles up to its truncation limit). */
  readonly soak_segments: ReadonlyArray<Segment>;
  /** From the master's /metrics: the longest retention batch (the loop's longest hold by deletion). */
  readonly soak_retention_batch_ms_max: number | null;
  readonly soak_retention_deleted_jobs: number | null;
  /** Job workspaces left in the workers' jobs/ folders at the end (each worker sweeps past its --retention). */
  readonly soak_worker_workspaces_end: number;
  /** Each retention pass that deleted something, from the master's log: whether a long batch is one outlier or every pass's. */
  readonly soak_retention_passes: ReadonlyArray<{ jobs: number; batches: number; batch_ms_max: number; took_ms: number }>;
}

interface Segment {
  jobs: number;
  jobs_per_s: number;
  store_mb: number;
  db_mb: number;
  rss_mb: number;
}

function storeMb(dataDir: string, names = ['titan.db', 'titan.db-wal']): number {
  let bytes = 0;
  for (const name of names) {
    try {
      bytes += statSync(join(dataDir, name)).size;
    } catch {
      // no WAL right after a full checkpoint
    }
  }
  return bytes / 1048576;
}

function workspaces(clusterDir: string): number {
  let count = 0;
  for (const id of ['soak-1', 'soak-2']) {
    try {
      count += readdirSync(join(clusterDir, 'workers', id, 'jobs')).length;
    } catch {
      // no job ran there yet
    }
  }
  return count;
}

async function metric(cluster: BenchCluster, name: string): Promise<number | null> {
  const res = await fetch(`http://127.0.0.1:${cluster.httpPort}/metrics`, { headers: { authorization: `Bearer ${BENCH_TOKEN}` } });
  const match = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(await res.text());
  return match === null ? null : Number(match[1]);
}

/** SOAK_JOBS (default 200,000) jobs; SOAK_RETENTION (default 60s) the master's --retention. */
export async function soak(count: number, retention: string, limitMs: number, log: (line: string) => void): Promise<SoakFigures> {
  const cluster = new BenchCluster();
  let rssMax = 0;
  const passes: Array<{ jobs: number; batches: number; batch_ms_max: number; took_ms: number }> = [];
  const sampler = setInterval(() => {
    try {
      rssMax = Math.max(rssMax, cluster.masterRssMb());
    } catch {
      // the master is not up yet
    }
  }, 250);
  try {
    await cluster.startMaster({ http: true, args: ['--retention', retention] });
    cluster.onMasterLog((line) => {
      if (!line.includes('"event":"retention"') || !line.includes('"batchMsMax"')) return;
      const pass = JSON.parse(line) as { jobs: number; batches: number; batchMsMax: number; tookMs: number };
      passes.push({ jobs: pass.jobs, batches: pass.batches, batch_ms_max: round(pass.batchMsMax, 2), took_ms: round(pass.tookMs, 1) });
    });
    // The workers keep each job's workspace for their own --retention (7 days by default): given
    // the master's, as a deployment with a short retention would, so 200,000 jobs do not leave
    // 100,000 folders in each worker's jobs/ directory.
    await cluster.startWorker('soak-1', 4, { args: ['--retention', retention] });
    await cluster.startWorker('soak-2', 4, { args: ['--retention', retention] });
    const client = await cluster.client();
    const segment = Math.min(10_000, Math.max(500, Math.floor(count / 10)));
    const segments: Segment[] = [];
    const started = Date.now();
    const cpuAtStart = cluster.cpuSeconds().master;
    let pushed = 0;
    while (pushed < count) {
      const size = Math.min(segment, count - pushed);
      const remaining = limitMs - (Date.now() - started);
      if (remaining <= 0) throw new Error(`the soak ran past ${limitMs / 1000} s after ${pushed} jobs`);
      const result = await pushJobs(client, size, 500, 2_000, remaining);
      pushed += size;
      const entry = {
        jobs: pushed,
        jobs_per_s: round(result.jobsPerS, 1),
        store_mb: round(storeMb(cluster.dataDir), 2),
        db_mb: round(storeMb(cluster.dataDir, ['titan.db']), 2),
        rss_mb: round(cluster.masterRssMb(), 1),
      };
      segments.push(entry);
      log(`  ${entry.jobs} jobs: ${entry.jobs_per_s} jobs/s, store ${entry.store_mb} MB (db ${entry.db_mb}), master RSS ${entry.rss_mb} MB`);
    }
    const seconds = (Date.now() - started) / 1000;
    const masterCpuS = cluster.cpuSeconds().master - cpuAtStart;
    const first = segments[0]?.jobs_per_s ?? 0;
    const last = segments[segments.length - 1]?.jobs_per_s ?? 0;
    return {
      soak_jobs: count,
      soak_retention: retention,
      soak_master_rss_mb_max: round(rssMax, 1),
      soak_store_mb_end: round(storeMb(cluster.dataDir), 2),
      soak_throughput_jobs_per_s: round(count / seconds, 1),
      soak_throughput_first_segment_jobs_per_s: first,
      soak_throughput_last_segment_jobs_per_s: last,
      soak_throughput_end_over_start: first > 0 ? round(last / first, 3) : 0,
      soak_master_cpu_ms_per_job: round((masterCpuS * 1000) / count, 3),
      soak_segments: segments,
      soak_retention_batch_ms_max: await metric(cluster, 'titan_retention_batch_ms_max'),
      soak_retention_deleted_jobs: await metric(cluster, 'titan_retention_deleted\\{kind="jobs"\\}'),
      soak_worker_workspaces_end: workspaces(cluster.dir),
      soak_retention_passes: passes,
    };
  } finally {
    clearInterval(sampler);
    await cluster.close();
  }
}
