/**
 * `npm run bench`: Titan against the raw-spawn floor and BullMQ. Prints a table and writes
 * bench/results/latest.json. Every figure is measured in this run; nothing is asserted.
 */
import { bullmqThroughput } from './bullmq.js';
import { BenchCluster } from './cluster.js';
import { floorLatency, floorThroughput } from './floor.js';
import { now, round } from './measure.js';
import { cleanupAll, cleanupAllSync } from './procs.js';
import { recoveryAfterKill } from './recovery.js';
import { ensureRedisServer, startRedis } from './redis.js';
import { emptyFigures, printTable, writeJson } from './report.js';
import { dispatchLatency, pushJobs } from './titan.js';
import { dagCoreThroughput } from './dag-core.js';
import { dagTenThousand } from './dag-run.js';
import { securityFigures } from './security.js';

const N = {
  latencyJobs: 300,
  warmupJobs: 20,
  throughputJobs: 2_000,
  batch: 500,
  inFlight: 8,
  slots: 4,
  memoryJobs: 10_000,
  queuedJobs: 1_000,
  /** Unfinished jobs at most during the 10k push (a steady load rather than one 10k queue). */
  pushWindow: 2_000,
} as const;

/** Per-step time limits; the whole bench stays within a few minutes even when something hangs. */
const LIMIT_MS = { latency: 60_000, throughput: 90_000, memory: 240_000, recovery: 60_000, bullmq: 90_000, dag: 240_000 } as const;

const log = (line: string): void => console.log(line);

async function main(): Promise<number> {
  const startedAt = now();
  const f = emptyFigures();
  const extra: Record<string, unknown> = { counts: N };
  const problems: string[] = [];
  const step = async (name: string, work: () => Promise<void>): Promise<boolean> => {
    const t0 = now();
    log(`- ${name} ...`);
    try {
      await work();
      log(`  done in ${((now() - t0) / 1000).toFixed(1)} s`);
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      problems.push(`${name}: ${message}`);
      log(`  FAILED: ${message}`);
      return false;
    }
  };

  await step('DAG core: a 100,000-node layered DAG resolved by the pure scheduler, no processes', () => {
    f.dag_core_transitions_per_s = dagCoreThroughput().transitionsPerSecond;
    return Promise.resolve();
  });

  const cluster = new BenchCluster();
  try {
    const up = await step('start a master and one worker (4 slots)', async () => {
      await cluster.startMaster();
      await cluster.startWorker('bench-w1', N.slots);
      extra.master_rss_mb_at_start = round(cluster.masterRssMb(), 1);
    });
    if (up) {
      const client = await cluster.client();
      await step(`dispatch latency: ${N.latencyJobs} sequential /bin/true, Titan and raw spawn`, async () => {
        const floor = await floorLatency(N.latencyJobs, N.warmupJobs, LIMIT_MS.latency);
        f.spawn_floor_p50_ms = floor.p50Ms;
        f.spawn_floor_p99_ms = floor.p99Ms;
        const titan = await dispatchLatency(client, N.latencyJobs, N.warmupJobs, LIMIT_MS.latency);
        f.dispatch_latency_p50_ms = titan.p50Ms;
        f.dispatch_latency_p99_ms = titan.p99Ms;
      });
      let pushed = 0;
      await step(`throughput: ${N.throughputJobs} jobs, 2 workers x ${N.slots} slots, and ${N.inFlight} raw spawns in flight`, async () => {
        await cluster.startWorker('bench-w2', N.slots);
        const floorCpu0 = process.cpuUsage();
        f.spawn_floor_jobs_per_s = await floorThroughput(N.throughputJobs, N.inFlight, LIMIT_MS.throughput);
        const floorCpu = process.cpuUsage(floorCpu0);
        extra.spawn_floor_cpu_ms_per_job = round((floorCpu.user + floorCpu.system) / 1000 / N.throughputJobs, 3);
        const cpu0 = cluster.cpuSeconds();
        const own0 = process.cpuUsage();
        const titan = await pushJobs(client, N.throughputJobs, N.batch, N.throughputJobs, LIMIT_MS.throughput);
        pushed += N.throughputJobs;
        f.throughput_jobs_per_s = titan.jobsPerS;
        const cpu1 = cluster.cpuSeconds();
        const own = process.cpuUsage(own0);
        const perJob = (seconds: number): number => round((seconds * 1000) / N.throughputJobs, 3);
        // Where the CPU goes per job during the throughput run (job processes themselves excluded).
        extra.throughput_cpu_ms_per_job = {
          master: perJob(cpu1.master - cpu0.master),
          workers: perJob(cpu1.workers - cpu0.workers),
          bench_client: perJob((own.user + own.system) / 1e6),
        };
      });
      await step('DAG: 10,000 /bin/true jobs (1 → 5,000 → 4,998 → 1) on 2 workers x 4 slots, and as many raw spawns', async () => {
        const dag = await dagTenThousand(client, LIMIT_MS.dag, N.inFlight);
        f.dag_10k_s = dag.titanSeconds;
        f.dag_10k_floor_s = dag.floorSeconds;
        pushed += dag.jobs;
      });
      await step(`master memory: ${N.memoryJobs} jobs through the cluster in all`, async () => {
        if (pushed < N.memoryJobs) {
          const rest = await pushJobs(client, N.memoryJobs - pushed, N.batch, N.pushWindow, LIMIT_MS.memory);
          extra.memory_push_jobs_per_s = round(rest.jobsPerS);
        }
        f.master_rss_mb_after_10k_jobs = cluster.masterRssMb();
        extra.jobs_through_master_before_rss = Math.max(pushed, N.memoryJobs) + N.latencyJobs + N.warmupJobs;
      });
      await step(`recovery: kill -9 the master holding the finished jobs + ${N.queuedJobs} queued, restart it`, async () => {
        const r = await recoveryAfterKill(cluster, N.queuedJobs, N.batch, LIMIT_MS.recovery);
        f.recovery_s_10k_jobs = r.readyS;
        extra.recovery_listening_s = round(r.listeningS, 3);
        extra.recovery_store_finished_jobs = r.finishedJobs;
        extra.recovery_store_queued_jobs = r.queuedJobs;
      });
    }
  } finally {
    await cluster.close();
  }

  await step(`BullMQ: ${N.throughputJobs} jobs, one Worker of concurrency ${N.inFlight}, local redis-server`, async () => {
    const redis = ensureRedisServer(log);
    if ('reason' in redis) {
      extra.bullmq_skipped_reason = redis.reason;
      log(`  BullMQ skipped: ${redis.reason}`);
      return;
    }
    // A failure here is the peer's, not Titan's: recorded as null with its reason, never fatal.
    try {
      const server = await startRedis(redis.path);
      try {
        f.bullmq_jobs_per_s = await bullmqThroughput(server.port, N.throughputJobs, N.batch, N.inFlight, LIMIT_MS.bullmq);
      } finally {
        await server.close();
      }
    } catch (err) {
      extra.bullmq_skipped_reason = err instanceof Error ? err.message : String(err);
      log(`  BullMQ not measured: ${String(extra.bullmq_skipped_reason)}`);
    }
  });

  await step('security: token check, can(), rate limiter, audit ledger, PING with an API token', async () => {
    extra.security = await securityFigures(log);
  });

  extra.problems = problems;
  extra.total_runtime_s = round((now() - startedAt) / 1000, 1);
  log('');
  printTable(f, log);
  const path = writeJson(f, extra);
  log('');
  log(`wrote ${path} (${String(extra.total_runtime_s)} s)`);
  for (const problem of problems) log(`problem: ${problem}`);
  return problems.length > 0 ? 1 : 0;
}

process.on('exit', cleanupAllSync);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanupAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
