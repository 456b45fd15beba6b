import type { ClusterStatsView } from '../../protocol/views.js';

/** OP_STATS: the cluster as a human reads it, one worker a line with its load, as the original printed. */
export function statsText(stats: ClusterStatsView): string {
  const lines = [
    '--- TITAN SYSTEM MONITOR (Titan-TS master, protocol v1) ---',
    `Uptime: ${Math.round(stats.uptimeMs / 1000)}s`,
    `Active Workers: ${stats.workers.length}`,
  ];
  for (const w of stats.workers) {
    lines.push(
      `  ${w.id} @ ${w.host} [${w.tags.join(',')}] load ${w.running}/${w.slots} (${Math.round(w.load * 100)}%) ${w.health}, last seen ${(w.lastSeenMsAgo / 1000).toFixed(1)}s ago`,
    );
  }
  const queues = Object.entries(stats.queues).map(([tag, depth]) => `${tag}=${depth}`);
  lines.push(`Queues: ${queues.length > 0 ? queues.join(' ') : 'empty'}`);
  const jobs = Object.entries(stats.jobs)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${state}=${n}`);
  lines.push(`Jobs: ${jobs.length > 0 ? jobs.join(' ') : 'none'}`);
  return lines.join('\n');
}
