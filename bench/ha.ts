/**
 * HA figures (docs/HA.md): the throughput and dispatch-latency steps' shapes on a PostgreSQL-backed
 * master, beside the same figures on SQLite from this run, and failover time with three masters
 * on one schema.
 */
import type { TitanClient } from '../src/sdk/client.js';
import { HaCluster } from '../test/ha-cluster.js';
import { BENCH_TOKEN, BenchCluster } from './cluster.js';
import { Deadline, now, percentile, sleep, within } from './measure.js';
import { dispatchLatency, pushJobs } from './titan.js';

export interface HaShape {
  readonly latencyJobs: number;
  readonly warmupJobs: number;
  readonly throughputJobs: number;
  readonly batch: number;
  readonly slots: number;
  readonly latencyLimitMs: number;
  readonly throughputLimitMs: number;
}

export interface StoreFigures {
  readonly dispatchP50Ms: number;
  readonly jobsPerS: number;
}

/**
 * The latency step (one worker, sequential jobs) then the throughput step (a second worker,
 * pushJobs with the window as large as the count), on whichever cluster `client` talks to.
 */
async function latencyThenThroughput(client: TitanClient, addWorker: () => Promise<void>, n: HaShape): Promise<StoreFigures> {
  const latency = await dispatchLatency(client, n.latencyJobs, n.warmupJobs, n.latencyLimitMs);
  await addWorker();
  const push = await pushJobs(client, n.throughputJobs, n.batch, n.throughputJobs, n.throughputLimitMs);
  return { dispatchP50Ms: latency.p50Ms, jobsPerS: push.jobsPerS };
}

/** The SQLite figures, for when the latency and throughput steps did not run in this process. */
export async function sqliteFigures(n: HaShape): Promise<StoreFigures> {
  const cluster = new BenchCluster();
  try {
    await cluster.startMaster();
    await cluster.startWorker('bench-w1', n.slots);
    const client = await cluster.client();
    return await latencyThenThroughput(client, () => cluster.startWorker('bench-w2', n.slots).then(() => undefined), n);
  } finally {
    await cluster.close();
  }
}

/** Masters as a user runs them: the bench's token, the default log level and heartbeats. */
function benchHaCluster(leaseTtl: string): HaCluster {
  return new HaCluster({ leaseTtl, token: BENCH_TOKEN, logLevel: 'info', fastHeartbeats: false });
}

/** One master with `--store postgres://…` on a schema of its own (dropped after), 1 then 2 workers. */
export async function postgresFigures(n: HaShape, leaseTtl: string): Promise<StoreFigures> {
  const cluster = benchHaCluster(leaseTtl);
  try {
    await cluster.open();
    await cluster.startMaster('pg-m1');
    await cluster.leader(30_000);
    await cluster.startWorker('bench-w1', n.slots);
    const client = await cluster.client();
    return await latencyThenThroughput(client, () => cluster.startWorker('bench-w2', n.slots), n);
  } finally {
    await cluster.close();
  }
}

export interface FailoverFigures {
  readonly samplesS: number[];
  /** Kill → a surviving master answers /healthz as the leader and the other, a standby, names it: the election's share of each sample. */
  readonly electedS: number[];
  readonly p50S: number;
  readonly maxS: number;
}

/**
 * Three masters on one schema and one worker. Each try: SIGKILL the leader; from the kill, a fresh
 * client given every master submits one /bin/true and waits for it; the sample is kill → the client
 * sees it succeeded (lease expiry, election, the new leader's recovery, the worker re-registering,
 * dispatch and the job itself). The killed master then comes back as a standby before the next try.
 */
export async function failoverFigures(tries: number, leaseTtl: string, tryLimitMs: number, log: (line: string) => void): Promise<FailoverFigures> {
  const cluster = benchHaCluster(leaseTtl);
  try {
    await cluster.open();
    for (const name of ['ha-m1', 'ha-m2', 'ha-m3']) await cluster.startMaster(name);
    await cluster.leader(30_000);
    await cluster.startWorker('bench-ha-w1', 4);
    const samplesS: number[] = [];
    const electedS: number[] = [];
    for (let i = 0; i < tries; i++) {
      const leader = await cluster.leader(tryLimitMs);
      await cluster.workersHealthy(['bench-ha-w1'], tryLimitMs);
      const t0 = now();
      await cluster.killMaster(leader);
      // NaN when no leader is seen in time: the try then fails on its job instead, and this must not reject unhandled.
      const elected = cluster.leader(tryLimitMs).then(
        () => (now() - t0) / 1000,
        () => Number.NaN,
      );
      await within(`failover try ${i + 1}`, tryLimitMs, jobAfterKill(cluster, tryLimitMs));
      const seconds = (now() - t0) / 1000;
      samplesS.push(seconds);
      electedS.push(await within('the election to be seen', tryLimitMs, elected));
      log(
        `  failover ${i + 1}/${tries}: ${leader.name} killed → new leader seen at ${electedS.at(-1)!.toFixed(3)} s, job succeeded at ${seconds.toFixed(3)} s`,
      );
      await cluster.restartMaster(leader);
    }
    return { samplesS, electedS, p50S: percentile(samplesS, 50), maxS: Math.max(...samplesS) };
  } finally {
    await cluster.close();
  }
}

/** Submits one /bin/true through a client given every master and waits until it has succeeded. */
async function jobAfterKill(cluster: HaCluster, limitMs: number): Promise<void> {
  const deadline = new Deadline('a job submitted after the kill', limitMs);
  const client = await cluster.client(limitMs);
  // A submit whose connection dies under it (the new leader taking its ports' connections over
  // from a standby) is not resent by the SDK; sending it again here is fine for /bin/true.
  for (let attempt = 1; ; attempt++) {
    const submitted = await client.submit({ command: '/bin/true' }).catch((err: unknown) => err as Error);
    if (!(submitted instanceof Error)) {
      const view = await client.wait(submitted.jobId);
      if (view.state !== 'succeeded') throw new Error(`job ${submitted.jobId} ended ${view.state}: ${view.reason ?? ''}`);
      return;
    }
    if (attempt >= 20) throw submitted;
    deadline.check();
    await sleep(50);
  }
}
