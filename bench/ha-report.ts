/** The HA figures' keys, targets, derived ratios and table rows (bench/ha.ts measures them). */
import { diff, fmt, judge, ratio, ratioText, type Row } from './report-format.js';

export interface HaFigures {
  /** The throughput step's shape on a master with `--store postgres://…`. */
  pg_throughput_jobs_per_s: number | null;
  /** The latency step's p50 on the same PostgreSQL-backed master. */
  pg_dispatch_latency_p50_ms: number | null;
  /** SIGKILL of the leader → a /bin/true job submitted after the kill has succeeded. */
  failover_s_p50: number | null;
  failover_s_max: number | null;
  /** The masters' --lease-ttl during the failover tries: it bounds failover (docs/HA.md). */
  failover_lease_ttl_s: number | null;
}

export const emptyHaFigures = (): HaFigures => ({
  pg_throughput_jobs_per_s: null,
  pg_dispatch_latency_p50_ms: null,
  failover_s_p50: null,
  failover_s_max: null,
  failover_lease_ttl_s: null,
});

export const HA_TARGETS = {
  /** PostgreSQL-backed throughput as a share of SQLite's, same shape, same run. */
  pgThroughputOfSqlite: 0.8,
  /** The PostgreSQL-backed dispatch p50 may exceed SQLite's by at most this. */
  pgDispatchOverSqliteMs: 1,
  /** Failover p50, with --lease-ttl 2s. */
  failoverP50S: 2,
} as const;

interface SqlitePeers {
  readonly throughput_jobs_per_s: number | null;
  readonly dispatch_latency_p50_ms: number | null;
}

export function haDerived(f: HaFigures & SqlitePeers): Record<string, number | null> {
  return {
    pg_over_sqlite_throughput_ratio: ratio(f.pg_throughput_jobs_per_s, f.throughput_jobs_per_s),
    pg_dispatch_p50_minus_sqlite_ms: diff(f.pg_dispatch_latency_p50_ms, f.dispatch_latency_p50_ms),
  };
}

export function haRows(f: HaFigures & SqlitePeers): Row[] {
  const d = haDerived(f);
  const share = d.pg_over_sqlite_throughput_ratio ?? null;
  const over = d.pg_dispatch_p50_minus_sqlite_ms ?? null;
  const ttl = f.failover_lease_ttl_s === null ? '?' : String(f.failover_lease_ttl_s);
  return [
    {
      metric: 'PostgreSQL store: throughput 2x4',
      value: fmt(f.pg_throughput_jobs_per_s, 'jobs/s', 0),
      compared: `SQLite ${fmt(f.throughput_jobs_per_s, 'jobs/s', 0)}`,
      relation: ratioText(share),
      target: `>= ${HA_TARGETS.pgThroughputOfSqlite} x SQLite`,
      status: judge(share === null ? null : share >= HA_TARGETS.pgThroughputOfSqlite),
    },
    {
      metric: 'PostgreSQL store: dispatch p50',
      value: fmt(f.pg_dispatch_latency_p50_ms, 'ms'),
      compared: `SQLite ${fmt(f.dispatch_latency_p50_ms, 'ms')}`,
      relation: over === null ? 'n/a' : `${over >= 0 ? '+' : ''}${over.toFixed(2)} ms`,
      target: `<= SQLite + ${HA_TARGETS.pgDispatchOverSqliteMs} ms`,
      status: judge(over === null ? null : over <= HA_TARGETS.pgDispatchOverSqliteMs),
    },
    {
      metric: `failover p50, lease TTL ${ttl} s (kill → job done)`,
      value: fmt(f.failover_s_p50, 's', 3),
      compared: `max ${fmt(f.failover_s_max, 's', 3)}`,
      relation: '',
      target: `<= ${HA_TARGETS.failoverP50S} s`,
      status: judge(f.failover_s_p50 === null ? null : f.failover_s_p50 <= HA_TARGETS.failoverP50S),
    },
  ];
}
