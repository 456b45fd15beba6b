/** The bench's `ha` step: fills the HA figures (bench/ha.ts), reusing this run's SQLite figures when those steps ran. */
import { failoverFigures, postgresFigures, sqliteFigures, type HaShape } from './ha.js';
import { round } from './measure.js';
import type { Figures } from './report.js';

export async function haStep(
  f: Figures,
  extra: Record<string, unknown>,
  shape: HaShape,
  leaseTtlS: number,
  tries: number,
  log: (line: string) => void,
): Promise<void> {
  const leaseTtl = `${leaseTtlS}s`;
  extra.ha_sqlite_peers_from = {
    throughput: f.throughput_jobs_per_s === null ? 'the ha step' : 'the throughput step',
    dispatch_latency: f.dispatch_latency_p50_ms === null ? 'the ha step' : 'the latency step',
  };
  if (f.throughput_jobs_per_s === null || f.dispatch_latency_p50_ms === null) {
    // The latency or throughput step did not run: the SQLite peers are measured here, same shapes.
    const sqlite = await sqliteFigures(shape);
    f.throughput_jobs_per_s ??= sqlite.jobsPerS;
    f.dispatch_latency_p50_ms ??= sqlite.dispatchP50Ms;
  }
  const pg = await postgresFigures(shape, leaseTtl);
  f.pg_throughput_jobs_per_s = pg.jobsPerS;
  f.pg_dispatch_latency_p50_ms = pg.dispatchP50Ms;
  log(`  PostgreSQL: ${round(pg.jobsPerS)} jobs/s, dispatch p50 ${round(pg.dispatchP50Ms)} ms`);
  f.failover_lease_ttl_s = leaseTtlS;
  const failover = await failoverFigures(tries, leaseTtl, 60_000, log);
  f.failover_s_p50 = failover.p50S;
  f.failover_s_max = failover.maxS;
  extra.failover_samples_s = failover.samplesS.map((s) => round(s, 3));
  extra.failover_leader_elected_samples_s = failover.electedS.map((s) => round(s, 3));
  extra.failover_definition = `SIGKILL of the leader of 3 masters (--lease-ttl ${leaseTtl}, one worker) → a /bin/true job submitted right after the kill, by a fresh client given every master, seen succeeded`;
}
