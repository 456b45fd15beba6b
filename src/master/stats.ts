import type { ClusterStatsView } from '../protocol/views.js';
import type { Master } from './master.js';

/** What `titan stats` shows: workers as the core and their heartbeats know them, queues, job counts, timers, and a cluster's masters. */
export type StatsHost = Pick<Master, 'startedAt' | 'reads' | 'options' | 'vitals' | 'workerMeta' | 'scaling' | 'timerSkew'>;

/** Heartbeats a live worker may miss before it is shown `unresponsive` (it is declared dead only at the heartbeat timeout). */
const MISSED_BEATS = 2;

/** `unresponsive` for a worker still counted live that has missed heartbeats; its recorded health otherwise. */
export function shownHealth(health: string, lastSeenMsAgo: number, heartbeatIntervalMs: number): string {
  return health === 'healthy' && lastSeenMsAgo > MISSED_BEATS * heartbeatIntervalMs ? 'unresponsive' : health;
}

export async function clusterStats(master: StatsHost): Promise<ClusterStatsView> {
  const jobs = await master.reads.countByState();
  const now = Date.now();
  return {
    uptimeMs: now - master.startedAt,
    workers: master.reads.liveWorkers().map((w) => ({
      id: w.id,
      host: w.host,
      tags: [...w.tags],
      slots: w.slots,
      running: w.running.size,
      load: w.running.size / w.slots,
      health: shownHealth(w.health, now - w.lastSeen, master.options.heartbeatIntervalMs),
      lastSeenMsAgo: now - w.lastSeen,
      cpus: w.resources.cpus,
      memoryMb: w.resources.memoryMb,
      load1: master.vitals.get(w.id)?.load1 ?? null,
      freeMemoryMb: master.vitals.get(w.id)?.freeMemoryMb ?? null,
      gpus: w.resources.gpus,
      reserved: w.used,
      drivers: [...w.drivers],
      version: master.workerMeta.get(w.id)?.version ?? 'unknown',
      pid: master.workerMeta.get(w.id)?.pid ?? null,
      spawnedBy: master.scaling.spawnedHost(w.id) ?? null,
      uptimeMs: (() => {
        const startedAt = master.workerMeta.get(w.id)?.startedAt;
        return startedAt === undefined || startedAt === null ? null : now - startedAt;
      })(),
    })),
    queues: master.reads.queueDepths(),
    jobs,
    timers: master.timerSkew.summary(),
    ...(master.options.cluster !== undefined ? { masters: await master.options.cluster.masters() } : {}),
  };
}
