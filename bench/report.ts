/** Turns the measured figures into the printed table and bench/results/latest.json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './measure.js';
import type { PythonFigures } from './python.js';
import { emptyHaFigures, HA_TARGETS, haDerived, haRows, type HaFigures } from './ha-report.js';
import { diff, fmt, judge, ratio, ratioText, type Row } from './report-format.js';

/** The figures the bench promises, under the keys of latest.json; null when not measured (the `py_*` keys come from bench/python.ts). */
export interface Figures extends PythonFigures, HaFigures {
  dispatch_latency_p50_ms: number | null;
  dispatch_latency_p99_ms: number | null;
  spawn_floor_p50_ms: number | null;
  spawn_floor_p99_ms: number | null;
  throughput_jobs_per_s: number | null;
  spawn_floor_jobs_per_s: number | null;
  bullmq_jobs_per_s: number | null;
  /** BullMQ in Titan's shape: 2 worker processes x concurrency 4. */
  bullmq_2x4_jobs_per_s: number | null;
  master_rss_mb_after_10k_jobs: number | null;
  recovery_s_10k_jobs: number | null;
  dag_core_transitions_per_s: number | null;
  dag_10k_s: number | null;
  dag_10k_floor_s: number | null;
  /** The master's worst loop stall while it admitted the 10k DAG (from its /metrics). */
  dag_submit_10k_loop_lag_max_ms: number | null;
  service_restart_ms_p50: number | null;
  pm2_restart_ms_p50: number | null;
  timer_fire_skew_ms_p99: number | null;
  dashboard_load_ms_10k_jobs: number | null;
  log_follow_lines_per_s: number | null;
  node_floor_ms_p50: number | null;
  cli_version_ms_p50: number | null;
  cli_jobs_ms_p50: number | null;
}

export const emptyFigures = (): Figures => ({
  dispatch_latency_p50_ms: null,
  dispatch_latency_p99_ms: null,
  spawn_floor_p50_ms: null,
  spawn_floor_p99_ms: null,
  throughput_jobs_per_s: null,
  spawn_floor_jobs_per_s: null,
  bullmq_jobs_per_s: null,
  bullmq_2x4_jobs_per_s: null,
  master_rss_mb_after_10k_jobs: null,
  recovery_s_10k_jobs: null,
  dag_core_transitions_per_s: null,
  dag_10k_s: null,
  dag_10k_floor_s: null,
  dag_submit_10k_loop_lag_max_ms: null,
  service_restart_ms_p50: null,
  pm2_restart_ms_p50: null,
  timer_fire_skew_ms_p99: null,
  dashboard_load_ms_10k_jobs: null,
  log_follow_lines_per_s: null,
  py_job_latency_p50_ms: null,
  py_spawn_floor_p50_ms: null,
  py_job_cold_p50_ms: null,
  py_numpy_job_p50_ms: null,
  py_numpy_job_cold_p50_ms: null,
  py_throughput_jobs_per_s: null,
  py_throughput_cold_jobs_per_s: null,
  node_floor_ms_p50: null,
  cli_version_ms_p50: null,
  cli_jobs_ms_p50: null,
  ...emptyHaFigures(),
});

/** The targets, in one place. */
export const TARGETS = {
  /** Titan's p50 may exceed the raw-spawn p50 by at most this. */
  dispatchOverFloorMs: 2,
  /** Titan's throughput as a share of 8 raw spawns in flight. */
  throughputOfFloor: 0.8,
  /** Titan's throughput over BullMQ's, same jobs, same run. */
  overBullmq: 1,
  masterRssMb: 150,
  recoveryS: 1,
  dagCoreTransitionsPerS: 500_000,
  /** The 10k-job DAG's time over the same number of raw spawns at 8 in flight. */
  dag10kOverFloor: 1.25,
  /** Issue 14: no request holds the master's loop for more than ~50 ms. */
  dagSubmitLoopLagMaxMs: 50,
  /** Titan's service restart p50 over PM2's, same script, same run. */
  serviceRestartOverPm2: 1,
  timerSkewP99Ms: 5,
  dashboardLoadMs: 1000,
  /** The live log view keeps up with a job printing this many lines a second, dropping none. */
  logFollowLinesPerS: 5000,
  /** A warm `print("hi")` job, submit → done, over Node spawning `python3 -u hi.py`. */
  pyWarmOverSpawnFloor: 0.25,
  /** A warm job importing preloaded numpy over the same job cold. */
  pyNumpyWarmOverCold: 0.1,
  /** Trivial `.py` jobs per second, warm over cold, 2 workers x 4 slots. */
  pyThroughputWarmOverCold: 3,
  /** `titan --version` and `titan jobs` may take at most this much longer than `node -e ""`. */
  cliOverNodeFloorMs: 60,
  ...HA_TARGETS,
} as const;

/** Ratios and differences derived from the figures, added to the JSON next to them. */
export function derived(f: Figures): Record<string, number | null> {
  const over = diff(f.dispatch_latency_p50_ms, f.spawn_floor_p50_ms);
  return {
    dispatch_p50_minus_floor_ms: over,
    dispatch_p50_over_floor_ratio: ratio(f.dispatch_latency_p50_ms, f.spawn_floor_p50_ms),
    throughput_over_floor_ratio: ratio(f.throughput_jobs_per_s, f.spawn_floor_jobs_per_s),
    titan_over_bullmq_ratio: ratio(f.throughput_jobs_per_s, f.bullmq_jobs_per_s),
    titan_over_bullmq_2x4_ratio: ratio(f.throughput_jobs_per_s, f.bullmq_2x4_jobs_per_s),
    dag_10k_over_floor_ratio: ratio(f.dag_10k_s, f.dag_10k_floor_s),
    service_restart_over_pm2_ratio: ratio(f.service_restart_ms_p50, f.pm2_restart_ms_p50),
    py_warm_over_spawn_floor_ratio: ratio(f.py_job_latency_p50_ms, f.py_spawn_floor_p50_ms),
    py_warm_over_cold_ratio: ratio(f.py_job_latency_p50_ms, f.py_job_cold_p50_ms),
    py_numpy_warm_over_cold_ratio: ratio(f.py_numpy_job_p50_ms, f.py_numpy_job_cold_p50_ms),
    py_throughput_warm_over_cold_ratio: ratio(f.py_throughput_jobs_per_s, f.py_throughput_cold_jobs_per_s),
    cli_version_minus_node_floor_ms: diff(f.cli_version_ms_p50, f.node_floor_ms_p50),
    cli_jobs_minus_node_floor_ms: diff(f.cli_jobs_ms_p50, f.node_floor_ms_p50),
    ...haDerived(f),
  };
}

function rows(f: Figures): Row[] {
  const d = derived(f);
  const over = d.dispatch_p50_minus_floor_ms ?? null;
  const share = d.throughput_over_floor_ratio ?? null;
  const vsBull = d.titan_over_bullmq_ratio ?? null;
  return [
    {
      metric: 'dispatch latency p50',
      value: fmt(f.dispatch_latency_p50_ms, 'ms'),
      compared: `floor ${fmt(f.spawn_floor_p50_ms, 'ms')}`,
      relation: over === null ? 'n/a' : `${over >= 0 ? '+' : ''}${over.toFixed(2)} ms`,
      target: `<= floor + ${TARGETS.dispatchOverFloorMs} ms`,
      status: judge(over === null ? null : over <= TARGETS.dispatchOverFloorMs),
    },
    {
      metric: 'dispatch latency p99',
      value: fmt(f.dispatch_latency_p99_ms, 'ms'),
      compared: `floor ${fmt(f.spawn_floor_p99_ms, 'ms')}`,
      relation: ratioText(ratio(f.dispatch_latency_p99_ms, f.spawn_floor_p99_ms)),
      target: 'none set',
      status: '—',
    },
    {
      metric: 'throughput 2 workers x 4 slots',
      value: fmt(f.throughput_jobs_per_s, 'jobs/s', 0),
      compared: `floor ${fmt(f.spawn_floor_jobs_per_s, 'jobs/s', 0)}`,
      relation: ratioText(share),
      target: `>= ${TARGETS.throughputOfFloor} x floor`,
      status: judge(share === null ? null : share >= TARGETS.throughputOfFloor),
    },
    {
      metric: 'BullMQ, 1 process x concurrency 8',
      value: fmt(f.bullmq_jobs_per_s, 'jobs/s', 0),
      compared: `Titan 2x4 ${fmt(f.throughput_jobs_per_s, 'jobs/s', 0)}`,
      relation: `Titan/BullMQ ${ratioText(vsBull)}`,
      target: `Titan >= ${TARGETS.overBullmq} x BullMQ`,
      status: judge(vsBull === null ? null : vsBull >= TARGETS.overBullmq),
    },
    {
      metric: 'BullMQ, 2 processes x concurrency 4',
      value: fmt(f.bullmq_2x4_jobs_per_s, 'jobs/s', 0),
      compared: `Titan 2x4 ${fmt(f.throughput_jobs_per_s, 'jobs/s', 0)}`,
      relation: `Titan/BullMQ ${ratioText(d.titan_over_bullmq_2x4_ratio ?? null)}`,
      target: `Titan >= ${TARGETS.overBullmq} x BullMQ`,
      status: judge(
        d.titan_over_bullmq_2x4_ratio === undefined || d.titan_over_bullmq_2x4_ratio === null ? null : d.titan_over_bullmq_2x4_ratio >= TARGETS.overBullmq,
      ),
    },
    {
      metric: 'master RSS after 10k jobs',
      value: fmt(f.master_rss_mb_after_10k_jobs, 'MB', 1),
      compared: '',
      relation: '',
      target: `< ${TARGETS.masterRssMb} MB`,
      status: judge(f.master_rss_mb_after_10k_jobs === null ? null : f.master_rss_mb_after_10k_jobs < TARGETS.masterRssMb),
    },
    {
      metric: 'recovery, 10k done + 1k queued',
      value: fmt(f.recovery_s_10k_jobs, 's', 3),
      compared: '',
      relation: '',
      target: `< ${TARGETS.recoveryS} s`,
      status: judge(f.recovery_s_10k_jobs === null ? null : f.recovery_s_10k_jobs < TARGETS.recoveryS),
    },
    {
      metric: 'DAG core, 100k-node layered',
      value: fmt(f.dag_core_transitions_per_s, 'transitions/s', 0),
      compared: '',
      relation: '',
      target: `>= ${TARGETS.dagCoreTransitionsPerS}`,
      status: judge(f.dag_core_transitions_per_s === null ? null : f.dag_core_transitions_per_s >= TARGETS.dagCoreTransitionsPerS),
    },
    {
      metric: 'DAG of 10k /bin/true, 2x4 slots',
      value: fmt(f.dag_10k_s, 's'),
      compared: `floor ${fmt(f.dag_10k_floor_s, 's')}`,
      relation: ratioText(d.dag_10k_over_floor_ratio ?? null),
      target: `<= ${TARGETS.dag10kOverFloor} x floor`,
      status: judge(
        d.dag_10k_over_floor_ratio === undefined || d.dag_10k_over_floor_ratio === null ? null : d.dag_10k_over_floor_ratio <= TARGETS.dag10kOverFloor,
      ),
    },
    {
      metric: "master's worst loop stall, 10k DAG_SUBMIT",
      value: fmt(f.dag_submit_10k_loop_lag_max_ms, 'ms', 1),
      compared: '',
      relation: '',
      target: `<= ${TARGETS.dagSubmitLoopLagMaxMs} ms`,
      status: judge(f.dag_submit_10k_loop_lag_max_ms === null ? null : f.dag_submit_10k_loop_lag_max_ms <= TARGETS.dagSubmitLoopLagMaxMs),
    },
    {
      metric: 'service restart p50 (crash → TCP)',
      value: fmt(f.service_restart_ms_p50, 'ms', 1),
      compared: `PM2 ${fmt(f.pm2_restart_ms_p50, 'ms', 1)}`,
      relation: `Titan/PM2 ${ratioText(d.service_restart_over_pm2_ratio ?? null)}`,
      target: `Titan <= ${TARGETS.serviceRestartOverPm2} x PM2`,
      status: judge(
        d.service_restart_over_pm2_ratio === undefined || d.service_restart_over_pm2_ratio === null
          ? null
          : d.service_restart_over_pm2_ratio <= TARGETS.serviceRestartOverPm2,
      ),
    },
    {
      metric: 'timer fire skew p99, 1k delayed jobs',
      value: fmt(f.timer_fire_skew_ms_p99, 'ms', 1),
      compared: '',
      relation: '',
      target: `< ${TARGETS.timerSkewP99Ms} ms`,
      status: judge(f.timer_fire_skew_ms_p99 === null ? null : f.timer_fire_skew_ms_p99 < TARGETS.timerSkewP99Ms),
    },
    {
      metric: 'dashboard overview, 10k jobs',
      value: fmt(f.dashboard_load_ms_10k_jobs, 'ms', 0),
      compared: '',
      relation: '',
      target: `< ${TARGETS.dashboardLoadMs} ms`,
      status: judge(f.dashboard_load_ms_10k_jobs === null ? null : f.dashboard_load_ms_10k_jobs < TARGETS.dashboardLoadMs),
    },
    {
      metric: 'live log follow, job at 5k lines/s',
      value: fmt(f.log_follow_lines_per_s, 'lines/s', 0),
      compared: '',
      relation: '',
      // 2% slack: the figure is lines over the time between the first and the last line shown, which includes the job's own start-up jitter.
      target: `>= ${TARGETS.logFollowLinesPerS} x 0.98, none dropped`,
      status: judge(f.log_follow_lines_per_s === null ? null : f.log_follow_lines_per_s >= TARGETS.logFollowLinesPerS * 0.98),
    },
    cliRow('titan --version p50', f.cli_version_ms_p50, f.node_floor_ms_p50),
    cliRow('titan jobs --limit 20 p50', f.cli_jobs_ms_p50, f.node_floor_ms_p50),
    ...pythonRows(f, d),
    ...haRows(f),
  ];
}

function pythonRows(f: Figures, d: Record<string, number | null>): Row[] {
  const at = (r: number | null | undefined): number | null => r ?? null;
  const warm = at(d.py_warm_over_spawn_floor_ratio);
  const numpy = at(d.py_numpy_warm_over_cold_ratio);
  const throughput = at(d.py_throughput_warm_over_cold_ratio);
  return [
    {
      metric: '.py job p50, warm (print hi)',
      value: fmt(f.py_job_latency_p50_ms, 'ms', 1),
      compared: `spawn python3 ${fmt(f.py_spawn_floor_p50_ms, 'ms', 1)}; cold ${fmt(f.py_job_cold_p50_ms, 'ms', 1)}`,
      relation: ratioText(warm),
      target: `<= ${TARGETS.pyWarmOverSpawnFloor} x spawn`,
      status: judge(warm === null ? null : warm <= TARGETS.pyWarmOverSpawnFloor),
    },
    {
      metric: '.py numpy job p50, warm preloaded',
      value: fmt(f.py_numpy_job_p50_ms, 'ms', 1),
      compared: `cold ${fmt(f.py_numpy_job_cold_p50_ms, 'ms', 1)}`,
      relation: ratioText(numpy),
      target: `<= ${TARGETS.pyNumpyWarmOverCold} x cold`,
      status: judge(numpy === null ? null : numpy <= TARGETS.pyNumpyWarmOverCold),
    },
    {
      metric: '.py throughput 2x4, warm',
      value: fmt(f.py_throughput_jobs_per_s, 'jobs/s', 0),
      compared: `cold ${fmt(f.py_throughput_cold_jobs_per_s, 'jobs/s', 0)}`,
      relation: ratioText(throughput),
      target: `>= ${TARGETS.pyThroughputWarmOverCold} x cold`,
      status: judge(throughput === null ? null : throughput >= TARGETS.pyThroughputWarmOverCold),
    },
  ];
}

function cliRow(metric: string, value: number | null, floor: number | null): Row {
  const over = diff(value, floor);
  return {
    metric,
    value: fmt(value, 'ms', 1),
    compared: `node -e "" ${fmt(floor, 'ms', 1)}`,
    relation: over === null ? 'n/a' : `${over >= 0 ? '+' : ''}${over.toFixed(1)} ms`,
    target: `<= floor + ${TARGETS.cliOverNodeFloorMs} ms`,
    status: judge(over === null ? null : over <= TARGETS.cliOverNodeFloorMs),
  };
}

export function printTable(f: Figures, print: (line: string) => void): void {
  const header = { metric: 'metric', value: 'value', compared: 'floor / peer', relation: 'ratio / diff', target: 'target', status: 'status' };
  const all = [header, ...rows(f)];
  const cols: (keyof Row)[] = ['metric', 'value', 'compared', 'relation', 'target', 'status'];
  const widths = cols.map((c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: Record<keyof Row, string>): string =>
    cols
      .map((c, i) => r[c].padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  print(line(header));
  print(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of all.slice(1)) print(line(r));
}

function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpus: cpu.length,
    cpu_model: cpu[0]?.model ?? 'unknown',
    total_memory_mb: Math.round(totalmem() / 1048576),
    loadavg_1m_at_end: round(loadavg()[0] ?? 0),
  };
}

/** Writes bench/results/latest.json (next to the sources, not in dist/) and returns its path. */
export function writeJson(f: Figures, extra: Record<string, unknown>, fileName = 'latest.json'): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled to dist/bench/report.js; the results live in the source tree's bench/results/.
  const root = here.includes(`${join('dist', 'bench')}`) ? join(here, '..', '..') : join(here, '..');
  const path = join(root, 'bench', 'results', fileName);
  mkdirSync(dirname(path), { recursive: true });
  const figures = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v === null ? null : round(v as number, 3)]));
  const ratios = Object.fromEntries(Object.entries(derived(f)).map(([k, v]) => [k, v === null ? null : round(v, 3)]));
  const body = { ...figures, ...ratios, targets: TARGETS, ...extra, machine: machine(), at: new Date().toISOString() };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}
